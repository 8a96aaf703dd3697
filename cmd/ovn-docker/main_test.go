package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func noEnv(string) (string, bool) { return "", false }

// envOf is a process environment holding exactly m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestServeFlagsDefaultsAndEnv(t *testing.T) {
	c, err := parseServeFlags(nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Socket != "/run/docker/plugins/openvswitch.sock" || c.NB[0] != "unix:/var/run/ovn/ovnnb_db.sock" ||
		c.OVS != "unix:/var/run/openvswitch/db.sock" || c.Bridge != "br-int" || c.ReadyTimeout != 5*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	env := map[string]string{
		"OVN_DOCKER_NB":            "tcp:10.0.0.1:6641, tcp:10.0.0.2:6641",
		"OVN_DOCKER_BRIDGE":        "br-alt",
		"OVN_DOCKER_READY_TIMEOUT": "2s",
		"OVN_DOCKER_LOG_LEVEL":     "debug",
	}
	c, err = parseServeFlags([]string{"--bridge", "br-flag"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.NB) != 2 || c.NB[1] != "tcp:10.0.0.2:6641" || c.Bridge != "br-flag" || c.ReadyTimeout != 2*time.Second || c.LogLevel != logrus.DebugLevel {
		t.Fatalf("env and flags: %+v", c)
	}
}

func TestServeFlagsRefuseNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"--nb", "http://x"}, {"--nb", ""}, {"--ovs", "ssl:1.2.3.4:6640"}, {"--log-level", "loud"},
		{"--log-format", "xml"}, {"--ovn-timeout", "0s"}, {"--nb", "ssl:10.0.0.1:6641"}, {"extra"},
	} {
		if _, err := parseServeFlags(args, noEnv, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"serve", "--help"}, &out, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	serveFlags(new(serveConfig), new(serveStrings), noEnv, io.Discard).fs.VisitAll(func(fl *flag.Flag) {
		if !strings.Contains(out.String(), "(env "+envName(fl.Name)+")") {
			t.Errorf("--help does not mention %s", envName(fl.Name))
		}
	})
}

// With OVN and OVS unreachable the socket still answers at once (and
// systemd is told so), and calls fail with a sentence naming a database,
// after --ovn-timeout.
func TestServesBeforeOVNIsReachable(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "--nb", "unix:"+dir+"/nb.sock", "--ovs", "unix:"+dir+"/db.sock", "--ovn-timeout", "300ms")
	resp, err := d.post("/Plugin.Activate", "")
	if err != nil {
		t.Fatalf("socket not answering: %v", err)
	}
	resp.Body.Close()
	body := `{"NetworkID":"24e2ae841211c99dc40729311b1af5896ea50470db2cc62fbe9079ca0d9127b9","IPv4Data":[{"Pool":"10.0.0.0/24"}]}`
	resp, err = d.post("/NetworkDriver.CreateNetwork", body)
	if err != nil {
		t.Fatalf("call hung or failed at the HTTP level: %v", err)
	}
	defer resp.Body.Close()
	var out struct{ Err string }
	json.NewDecoder(resp.Body).Decode(&out)
	// Which database the call needs first is the driver's business.
	if !strings.Contains(out.Err, "cannot reach the OVN northbound database at unix:"+dir+"/nb.sock") &&
		!strings.Contains(out.Err, "cannot reach the local Open vSwitch database at unix:"+dir+"/db.sock") {
		t.Fatalf("error %q does not name an unreachable database", out.Err)
	}
	if fi, err := os.Stat(d.sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
}

// Nothing secret reaches the log, whatever the level: TLS files are read,
// never printed.
func TestNoSecretsInLogs(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ovn-docker"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	sock := filepath.Join(dir, "p.sock")
	cfg, err := parseServeFlags([]string{"--socket", sock, "--nb", "ssl:127.0.0.1:1", "--ovs", "unix:" + dir + "/db.sock",
		"--nb-private-key", dir + "/key.pem", "--nb-certificate", dir + "/cert.pem", "--nb-ca-cert", dir + "/cert.pem",
		"--ovn-timeout", "300ms", "--log-level", "debug"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var mu sync.Mutex
	log := logrus.New()
	// runServer logs "listening" once its socket takes connections.
	listening, once := make(chan struct{}), sync.Once{}
	log.SetOutput(writerFunc(func(p []byte) (int, error) {
		if bytes.Contains(p, []byte("msg=listening")) {
			once.Do(func() { close(listening) })
		}
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}))
	log.SetLevel(logrus.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, log) }()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	body := `{"NetworkID":"24e2ae841211c99dc40729311b1af5896ea50470db2cc62fbe9079ca0d9127b9","IPv4Data":[{"Pool":"10.0.0.0/24"}]}`
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("the server stopped before listening: %v", err)
	}
	resp, err := c.Post("http://p/NetworkDriver.CreateNetwork", "", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	secret := strings.Split(string(keyPEM), "\n")[1] // first line of the key's base64
	if strings.Contains(buf.String(), "PRIVATE KEY") || strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), "call failed") {
		t.Fatalf("log:\n%s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A managed plugin's stderr is logged by Docker as errors, whatever it
// says: only errors go there.
func TestLogStreams(t *testing.T) {
	var out, errs bytes.Buffer
	log := newLogger(serveConfig{LogLevel: logrus.DebugLevel, LogFormat: "text"}, &out, &errs)
	log.Info("ready")
	log.Warn("slow")
	log.Error("broken")
	if !strings.Contains(out.String(), "ready") || !strings.Contains(out.String(), "slow") || strings.Contains(out.String(), "broken") {
		t.Errorf("stdout: %q", out.String())
	}
	if !strings.Contains(errs.String(), "broken") || strings.Contains(errs.String(), "ready") {
		t.Errorf("stderr: %q", errs.String())
	}
}
