// Package e2e drives the real docker CLI against a real Docker engine, OVS
// and OVN, with the plugin built from this tree. test/env/up.sh brings the
// environment up; when anything is missing the suite fails and says what.
package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const socket = "/run/docker/plugins/openvswitch.sock"

// image is the suite's own image, built by test/env/up.sh: a user's
// busybox:latest is neither relied on nor replaced.
const image = "ovn-docker-test/busybox:latest"

// plug is the plugin process under test.
var plug *pluginProc

func TestMain(m *testing.M) {
	if err := checkEnvironment(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: environment not ready: %v\n(run test/env/up.sh as root; make test does)\n", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "ovn-docker-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, faultsBin := filepath.Join(dir, "ovn-docker"), filepath.Join(dir, "ovn-docker-faults")
	for _, b := range []struct{ out, tags string }{{bin, ""}, {faultsBin, "faults"}} {
		// Static, like make build: the managed plugin's rootfs has no libc.
		build := exec.Command("go", "build", "-tags", b.tags, "-o", b.out, "../../cmd/ovn-docker")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	plug = &pluginProc{bin: bin, faultsBin: faultsBin, log: filepath.Join(dir, "plugin.log"), socket: socket}
	if err := plug.start(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	plug.stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: plugin log kept at %s\n", plug.log)
	} else {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func checkEnvironment() error {
	for _, c := range [][]string{
		{"docker", "info", "--format", "{{.ServerVersion}}"},
		{"ovn-nbctl", "--timeout=5", "show"},
		{"ovs-vsctl", "--timeout=5", "br-exists", "br-int"},
		{"docker", "image", "inspect", image},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	if alive(socket) {
		return fmt.Errorf("another process already serves %s; stop it first (make demo-stop)", socket)
	}
	return nil
}

// alive reports whether something answers on the plugin socket.
func alive(path string) bool {
	c, err := net.DialTimeout("unix", path, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

type pluginProc struct {
	bin, log, socket string
	// faultsBin is built with -tags faults: only it has the crash points
	// OVN_DOCKER_CRASH_AT names.
	faultsBin string
	env       []string // extra environment, e.g. OVN_DOCKER_CRASH_AT
	cmd       *exec.Cmd
	exited    chan struct{}
}

func (p *pluginProc) start(extra ...string) error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"serve", "--log-level", "debug", "--socket", p.socket}, extra...)
	bin := p.bin
	for _, e := range p.env {
		if strings.HasPrefix(e, "OVN_DOCKER_CRASH_AT=") {
			bin = p.faultsBin
		}
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start plugin: %w", err)
	}
	p.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); f.Close(); close(done) }(p.cmd, p.exited)
	return waitActive(p.socket, 5*time.Second)
}

// waitActive waits until the plugin answers /Plugin.Activate.
func waitActive(socket string, limit time.Duration) error {
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}, Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Post("http://plugin/Plugin.Activate", "application/json", nil)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("plugin did not answer on %s within %s: %v", socket, limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the plugin the hard way: nothing it holds in memory survives.
func (p *pluginProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *pluginProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}
