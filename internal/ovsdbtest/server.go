// Package ovsdbtest runs a real ovsdb-server serving the OVN Northbound and
// Open_vSwitch schemas the models were generated from, for tests.
package ovsdbtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Server is one ovsdb-server process serving both databases on a socket.
type Server struct {
	t    testing.TB
	Dir  string
	Sock string
	cmd  *exec.Cmd
}

// repoRoot finds the module root from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start creates fresh databases and serves them until the test ends. A
// missing ovsdb-server fails the test: it never skips.
func Start(t testing.TB) *Server {
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
	s := &Server{t: t, Dir: dir, Sock: filepath.Join(dir, "db.sock")}
	root := repoRoot()
	Run(t, "ovsdb-tool", "create", filepath.Join(dir, "nb.db"), filepath.Join(root, "ovs/nbdb/ovn-nb.ovsschema"))
	Run(t, "ovsdb-tool", "create", filepath.Join(dir, "conf.db"), filepath.Join(root, "ovs/vswitchd/vswitch.ovsschema"))
	s.Start()
	t.Cleanup(s.Stop)
	s.Vsctl("init")
	return s
}

// Start (re)starts the server process on the same databases.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.Command("ovsdb-server", "--remote=punix:"+s.Sock,
		"--unixctl="+filepath.Join(s.Dir, "ctl"), "--log-file="+filepath.Join(s.Dir, "log"),
		"-vconsole:off", filepath.Join(s.Dir, "nb.db"), filepath.Join(s.Dir, "conf.db"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start ovsdb-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.Sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("ovsdb-server did not create %s", s.Sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server process.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		os.Remove(s.Sock)
	}
}

// NBWrites tells how much the server has written to the Northbound
// database file: ovsdb-server appends every committed transaction to it
// before answering, so a read-only client leaves it unchanged.
func (s *Server) NBWrites() int64 {
	s.t.Helper()
	fi, err := os.Stat(filepath.Join(s.Dir, "nb.db"))
	if err != nil {
		s.t.Fatal(err)
	}
	return fi.Size()
}

// WaitHeld blocks until the server holds n "wait" operations (its
// memory report counts them as triggers), so a test knows a wait is in
// flight instead of hoping a pause was long enough.
func (s *Server) WaitHeld(n int) {
	s.t.Helper()
	want := fmt.Sprintf("triggers:%d", n)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := Run(s.t, "ovs-appctl", "-t", filepath.Join(s.Dir, "ctl"), "memory/show")
		if strings.Contains(out+" ", want+" ") || (n == 0 && !strings.Contains(out, "triggers:")) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the server never held %d waits: %s", n, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Endpoint is the server's OVSDB remote.
func (s *Server) Endpoint() string { return "unix:" + s.Sock }

// Nbctl runs ovn-nbctl against the server.
func (s *Server) Nbctl(args ...string) string {
	s.t.Helper()
	return Run(s.t, "ovn-nbctl", append([]string{"--db=" + s.Endpoint()}, args...)...)
}

// Vsctl runs ovs-vsctl against the server, not waiting for ovs-vswitchd.
func (s *Server) Vsctl(args ...string) string {
	s.t.Helper()
	return Run(s.t, "ovs-vsctl", append([]string{"--db=" + s.Endpoint(), "--no-wait"}, args...)...)
}

// Run runs a command and fails the test if it fails.
func Run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
