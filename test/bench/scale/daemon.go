package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// daemon is one `ovn-docker serve` process and its socket.
type daemon struct {
	cmd       *exec.Cmd
	api       *api
	stopOVSDB func() // a simulated host's Open_vSwitch database
	firstPass time.Duration
	done      chan struct{}
}

// startDaemon starts the daemon with its socket and JSON log in dir and
// waits for its first completed reconcile pass.
func startDaemon(ctx context.Context, bin, dir string, flags ...string) (*daemon, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "plugin.sock")
	args := append([]string{"serve", "--socket", sock, "--log-level", "debug", "--log-format", "json"}, flags...)
	cmd := exec.CommandContext(ctx, bin, args...)
	logf, err := os.Create(filepath.Join(dir, "ovn-docker.log"))
	if err != nil {
		return nil, err
	}
	// Errors go to stderr, the rest (the reconcile pass) to stdout.
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &daemon{cmd: cmd, api: newAPI(sock), done: make(chan struct{})}
	passed := make(chan time.Duration, 1)
	go d.follow(io.TeeReader(out, logf), t0, passed)
	select {
	case d.firstPass = <-passed:
		return d, nil
	case <-d.done:
		return nil, fmt.Errorf("%s exited before its first reconcile pass; see %s", bin, logf.Name())
	case <-time.After(2 * time.Minute):
		d.stop()
		return nil, fmt.Errorf("%s made no reconcile pass in 2 minutes; see %s", bin, logf.Name())
	}
}

// follow reads the daemon's log and reports when its first reconcile pass
// ended; a warning during a pass means the pass did not complete.
func (d *daemon) follow(r io.Reader, t0 time.Time, passed chan<- time.Duration) {
	defer close(d.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	first := true
	for sc.Scan() {
		var line struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line.Level == "warning" || line.Level == "error" {
			fmt.Fprintf(os.Stderr, "daemon: %s\n", sc.Text())
		}
		if first && line.Msg == "reconcile pass" {
			first = false
			passed <- time.Since(t0)
		}
	}
	d.cmd.Wait()
}

// stop ends the daemon with SIGTERM, as systemd would.
func (d *daemon) stop() {
	if d.cmd.ProcessState == nil && d.cmd.Process != nil {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	if d.stopOVSDB != nil {
		d.stopOVSDB()
		d.stopOVSDB = nil
	}
}

// rss is the daemon's resident memory now and at its peak.
func (d *daemon) rss() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	var now, peak string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) < 2:
		case f[0] == "VmRSS:":
			now = mib(f[1])
		case f[0] == "VmHWM:":
			peak = mib(f[1])
		}
	}
	return now + " (peak " + peak + ")"
}

func mib(kb string) string {
	var n float64
	fmt.Sscan(kb, &n)
	return fmt.Sprintf("%.1f MiB", n/1024)
}

// startSimHost starts a daemon posing as another host: its own
// Open_vSwitch database says its system-id, it does not use Docker's API,
// and it never takes its unjoined endpoints for orphans.
func startSimHost(ctx context.Context, bin, dir, systemID string) (*daemon, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	db, sock := filepath.Join(dir, "conf.db"), filepath.Join(dir, "db.sock")
	if err := sh("ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"); err != nil {
		return nil, err
	}
	// --detach returns once the socket listens.
	ctl := filepath.Join(dir, "ovsdb.ctl")
	if err := sh("ovsdb-server", db, "--remote=punix:"+sock, "--unixctl="+ctl, "--no-chdir", "--detach",
		"--pidfile="+filepath.Join(dir, "ovsdb.pid"), "--log-file="+filepath.Join(dir, "ovsdb.log")); err != nil {
		return nil, err
	}
	stop := func() { sh("ovs-appctl", "-t", ctl, "exit") }
	vsctl := []string{"--db=unix:" + sock, "--no-wait", "--timeout=10"}
	if err := sh("ovs-vsctl", append(vsctl, "init", "--", "set", "open", ".", "external-ids:system-id="+systemID)...); err != nil {
		stop()
		return nil, err
	}
	d, err := startDaemon(ctx, bin, dir, "--ovs", "unix:"+sock, "--docker", "",
		"--orphan-grace", "1000h", "--reconcile-interval", "1000h")
	if err != nil {
		stop()
		return nil, err
	}
	d.stopOVSDB = stop
	return d, nil
}

// populate makes nets networks of n endpoints each.
func (d *daemon) populate(ctx context.Context, prefix string, nets, n int) error {
	for i := 0; i < nets; i++ {
		net, err := d.createNetwork(ctx, fmt.Sprintf("%s-%d", prefix, i))
		if err != nil {
			return err
		}
		for j := 0; j < n; j++ {
			if _, _, _, err := d.createEndpoint(ctx, net, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// teardown removes what populate made.
func (d *daemon) teardown(ctx context.Context) error {
	for _, net := range d.api.networks {
		for _, ep := range net.endpoints {
			if err := d.deleteEndpoint(ctx, net, ep); err != nil {
				return err
			}
		}
		if err := d.deleteNetwork(ctx, net); err != nil {
			return err
		}
	}
	return nil
}

func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return errors.New(name + " " + strings.Join(args, " ") + ": " + strings.TrimSpace(string(out)))
	}
	return nil
}
