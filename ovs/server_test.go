package ovs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// testServer is a real ovsdb-server serving the NB and Open_vSwitch schemas
// from the files the models were generated from.
type testServer struct {
	t    *testing.T
	dir  string
	sock string
	cmd  *exec.Cmd
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	for _, bin := range []string{"ovsdb-server", "ovsdb-tool", "ovn-nbctl", "ovs-vsctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install openvswitch-switch and ovn-central (test/env/up.sh does)", bin)
		}
	}
	// Short path: unix socket names are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "ovsdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &testServer{t: t, dir: dir, sock: filepath.Join(dir, "db.sock")}
	run(t, "ovsdb-tool", "create", filepath.Join(dir, "nb.db"), "nbdb/ovn-nb.ovsschema")
	run(t, "ovsdb-tool", "create", filepath.Join(dir, "conf.db"), "vswitchd/vswitch.ovsschema")
	s.start()
	t.Cleanup(s.stop)
	s.vsctl("init")
	return s
}

func (s *testServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("ovsdb-server", "--remote=punix:"+s.sock,
		"--unixctl="+filepath.Join(s.dir, "ctl"), "--log-file="+filepath.Join(s.dir, "log"),
		"-vconsole:off", filepath.Join(s.dir, "nb.db"), filepath.Join(s.dir, "conf.db"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start ovsdb-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("ovsdb-server did not create %s", s.sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *testServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		os.Remove(s.sock)
	}
}

func (s *testServer) endpoint() string { return "unix:" + s.sock }

func (s *testServer) nbctl(args ...string) string {
	s.t.Helper()
	return run(s.t, "ovn-nbctl", append([]string{"--db=" + s.endpoint()}, args...)...)
}

func (s *testServer) vsctl(args ...string) string {
	s.t.Helper()
	return run(s.t, "ovs-vsctl", append([]string{"--db=" + s.endpoint(), "--no-wait"}, args...)...)
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.WarnLevel)
	return l
}

func (s *testServer) nb(t *testing.T) *NB {
	t.Helper()
	nb, err := NewNB(ConnConfig{Endpoints: []string{s.endpoint()}, LeaderOnly: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); nb.Close() })
	nb.Run(ctx)
	return nb
}

func (s *testServer) ovs(t *testing.T) *OVS {
	t.Helper()
	o, err := NewOVS(ConnConfig{Endpoints: []string{s.endpoint()}, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); o.Close() })
	o.Run(ctx)
	return o
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
