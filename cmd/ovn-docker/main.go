// Command ovn-docker is a Docker network (and IPAM) plugin that puts Docker
// networks on OVN. `ovn-docker serve` runs the plugin.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ipam"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/names"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
	"github.com/ovn-docker/ovn-docker/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `ovn-docker: Docker networks on OVN.

Usage:
  ovn-docker serve [flags]   run the network and IPAM plugin (see serve --help)
  ovn-docker status [flags]  show networks, this host's endpoints and IPAM usage (--json for machines)
  ovn-docker gateway set|show|unset [flags]  the outside routed networks leave through (see gateway --help)
  ovn-docker version         print the version
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "status":
		return runStatus(args[1:], stdout, stderr)
	case "gateway":
		return runGateway(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "ovn-docker: unknown command %q\n%s", args[0], usage)
	return 2
}

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, code := loadServeConfig(args, os.LookupEnv, stderr)
	if code >= 0 {
		return code
	}
	log := newLogger(cfg, stdout, stderr)
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	go func() {
		// A second signal during the stop kills at once, as operators expect.
		<-ctx.Done()
		stopSignals()
	}()
	if err := runServer(ctx, cfg, log); err != nil {
		log.WithError(err).Error("ovn-docker stopped")
		return 1
	}
	return 0
}

// loadServeConfig reads and checks serve's configuration; a code of 0 or
// more means: exit with it, all was said. A bad setting exits with 2, as a
// bad flag does.
func loadServeConfig(args []string, lookup func(string) (string, bool), stderr io.Writer) (serveConfig, int) {
	cfg, err := parseServeFlags(args, lookup, stderr)
	if errors.Is(err, flagHelp) {
		return cfg, 0
	}
	if err == nil {
		// runServer looks the group up again; doing it here too makes an
		// unknown group a configuration error like any other.
		_, err = lookupGroup(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker serve: %v\n", err)
		return cfg, 2
	}
	return cfg, -1
}

// newLogger writes errors to stderr and the rest to stdout: Docker logs
// all of a managed plugin's stderr as errors, and its stdout as such.
func newLogger(cfg serveConfig, stdout, stderr io.Writer) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(cfg.LogLevel)
	var f logrus.Formatter = &logrus.TextFormatter{}
	if cfg.LogFormat == "json" {
		f = &logrus.JSONFormatter{}
	}
	l.SetFormatter(f)
	l.AddHook(splitOutput{f: f, out: stdout, err: stderr})
	return l
}

// splitOutput is the hook that writes each record to its stream.
type splitOutput struct {
	f        logrus.Formatter
	out, err io.Writer
}

func (splitOutput) Levels() []logrus.Level { return logrus.AllLevels }

func (h splitOutput) Fire(e *logrus.Entry) error {
	b, err := h.f.Format(e)
	if err != nil {
		return err
	}
	w := h.out
	if e.Level <= logrus.ErrorLevel {
		w = h.err
	}
	_, err = w.Write(b)
	return err
}

// runServer listens first, so Docker finds the socket within a second even
// when OVN is down; the databases connect in the background and calls made
// before they do fail with a clear error after --ovn-timeout.
//
// When ctx ends it stops cleanly: no new connections, calls in flight
// answered (for at most stopGrace), the reconcile loop stopped, and only
// then the databases and the other handles closed.
func runServer(ctx context.Context, cfg serveConfig, log *logrus.Logger) error {
	gid, err := lookupGroup(cfg)
	if err != nil {
		return err
	}
	l, err := plugin.Listen(cfg.Socket, gid)
	if err != nil {
		return err
	}
	// Closing the listener removes the socket file. Nothing else removes
	// it: once this daemon stops listening, the path may be another's.
	defer l.Close()
	log.WithField("socket", cfg.Socket).Info("listening")
	notify(log, daemon.SdNotifyReady)
	servePprof(ctx, cfg.Pprof, log)
	restoreGC := startupGC(os.LookupEnv)

	h, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer h.closeAll()
	rec := &reconciler{d: h.d, im: h.im, timeout: cfg.OVNTimeout, log: log, nested: cfg.Nested != nil, started: restoreGC}
	if cfg.Docker != "" {
		dc, err := dockerapi.New(cfg.Docker)
		if err != nil {
			return err
		}
		rec.docker, rec.names = dc, names.New(dc, h.nb, h.systemID, cfg.OVNTimeout, log)
	}
	srv := plugin.New(h.d, h.im, plugin.Config{CallTimeout: cfg.OVNTimeout, Log: log})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	rctx, stopReconcile := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Add(1)
	go func() { defer background.Done(); rec.loop(rctx, cfg.Reconcile) }()
	if rec.names != nil {
		background.Add(1)
		go func() { defer background.Done(); rec.names.Run(rctx) }()
	}
	// Deferred after closeAll, so it runs first: a pass or a names sync
	// never finds its databases closed under it.
	defer func() { stopReconcile(); background.Wait() }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	notify(log, daemon.SdNotifyStopping)
	grace := stopGrace(cfg)
	log.WithField("grace", grace).Info("stopping: no new calls; finishing calls in flight")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.WithError(err).Warn("stopping: calls still running were cut short")
	}
	return nil
}

// stopGrace bounds how long a stop waits for calls in flight. A call's
// waits on the databases end at --ovn-timeout and Join's wait for
// ovn-controller at --ready-timeout, so by then every call that is not
// stuck has answered; systemd's default stop timeout (90 s) is well above.
func stopGrace(cfg serveConfig) time.Duration { return cfg.OVNTimeout + cfg.ReadyTimeout }

// handles are what the daemon runs on.
type handles struct {
	d        *driver.Driver
	im       *ipam.Manager
	nb       *nb.Client
	systemID func(context.Context) (string, error) // names this host in what it owns
	closeAll func()
}

// wire connects the handles the driver needs. They outlive ctx: calls in
// flight at a stop still use them; closeAll ends them. In a VM (nested
// mode) there is no local OVS database to connect to.
func wire(ctx context.Context, cfg serveConfig, log *logrus.Logger) (*handles, error) {
	nbc, err := connectNB(cfg.connConfig, log)
	if err != nil {
		return nil, err
	}
	var vs *local.Client
	if cfg.Nested == nil {
		if vs, err = local.New(conn.Config{Endpoints: []string{cfg.OVS}, Log: log}); err != nil {
			nbc.Close()
			return nil, err
		}
	}
	links, err := hostnet.New()
	if err != nil {
		nbc.Close()
		if vs != nil {
			vs.Close()
		}
		return nil, err
	}
	hctx, stopConns := context.WithCancel(context.WithoutCancel(ctx))
	nbc.Run(hctx)
	h := &handles{nb: nbc, systemID: nestedID(cfg.Nested)}
	var ovsHandle driver.OVS
	if vs != nil {
		vs.Run(hctx)
		h.systemID, ovsHandle = vs.SystemID, vs
	}
	h.d = driver.New(nbc, ovsHandle, links, driver.Config{Bridge: cfg.Bridge, ReadyTimeout: cfg.ReadyTimeout,
		RemoteReadyTimeout: cfg.RemoteReadyTimeout,
		Swarm:              cfg.Swarm, Nested: cfg.Nested,
		OrphanGrace: cfg.OrphanGrace, Log: log})
	h.im = ipam.NewManager(store.New(nbc), ipam.Config{IPv4Default: cfg.IPv4Pools, IPv6Default: cfg.IPv6Pools,
		OrphanGrace: cfg.OrphanGrace, Log: log, SystemID: h.systemID, Swarm: cfg.Swarm})
	h.closeAll = func() {
		stopConns()
		h.d.Close()
		nbc.Close()
		if vs != nil {
			vs.Close()
		}
		links.Close()
	}
	return h, nil
}

// nestedID names a VM as the driver does (driver.Nested); nil outside one.
func nestedID(n *driver.Nested) func(context.Context) (string, error) {
	if n == nil {
		return nil
	}
	return func(context.Context) (string, error) { return n.Chassis(), nil }
}

func lookupGroup(cfg serveConfig) (int, error) {
	name := cfg.SocketGroup
	if name == "" {
		return -1, nil
	}
	if gid, err := strconv.Atoi(name); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, cfg.bad("socket-group", err)
	}
	return strconv.Atoi(g.Gid)
}
