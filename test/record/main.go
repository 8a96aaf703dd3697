// Command record stands between a Docker engine and the plugin and writes
// every request body the engine sends to a directory, one file a call
// (<sequence>-<call>.json, bodies as sent), for the fixtures under
// testdata/.
//
//	record -listen /run/docker/plugins/openvswitch.sock -plugin /tmp/real.sock -out DIR
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

func main() {
	listen := flag.String("listen", "/run/docker/plugins/openvswitch.sock", "socket the engine talks to")
	plugin := flag.String("plugin", "", "socket of the real plugin")
	out := flag.String("out", "recorded", "directory for the bodies")
	flag.Parse()
	if *plugin == "" {
		log.Fatal("record: -plugin is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	os.Remove(*listen)
	l, err := net.Listen("unix", *listen)
	if err != nil {
		log.Fatal(err)
	}
	r := &recorder{dir: *out, client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", *plugin)
		}}}}
	srv := &http.Server{Handler: r}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		<-c
		srv.Close()
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

type recorder struct {
	dir    string
	client *http.Client
	mu     sync.Mutex
	n      int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.save(req.URL.Path, body)
	fwd, err := http.NewRequestWithContext(req.Context(), req.Method, "http://plugin"+req.URL.Path, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fwd.Header = req.Header.Clone()
	resp, err := r.client.Do(fwd)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (r *recorder) save(path string, body []byte) {
	name := strings.TrimPrefix(path, "/")
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	file := filepath.Join(r.dir, fmt.Sprintf("%03d-%s.json", n, name))
	if err := os.WriteFile(file, append(body, '\n'), 0o644); err != nil {
		log.Printf("record: %v", err)
	}
	log.Printf("%s (%d bytes)", name, len(body))
}
