package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
)

// checkPprof accepts only a loopback address: profiles show the daemon's
// memory, which holds the database's rows, to whoever can connect.
func checkPprof(addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if ip, perr := netip.ParseAddr(host); err != nil || (host != "localhost" && (perr != nil || !ip.IsLoopback())) {
		return fmt.Errorf("%q is not a loopback HOST:PORT such as 127.0.0.1:6060", addr)
	}
	return nil
}

// servePprof serves Go's profiler on addr until ctx ends. A profiler that
// cannot listen is worth a warning, not stopping the plugin.
func servePprof(ctx context.Context, addr string, log logrus.FieldLogger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.WithError(err).Warn("the profiler (--pprof) is off: cannot listen")
		return
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.WithField("pprof", "http://"+addr+"/debug/pprof/").Info("profiler listening")
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Warn("the profiler (--pprof) stopped")
		}
	}()
}
