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
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ipam"
	"github.com/ovn-docker/ovn-docker/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `ovn-docker: Docker networks on OVN.

Usage:
  ovn-docker serve [flags]   run the network and IPAM plugin (see serve --help)
  ovn-docker status [flags]  show networks, this host's endpoints and IPAM usage (--json for machines)
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
		return serve(args[1:], stderr)
	case "status":
		return runStatus(args[1:], stdout, stderr)
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

func serve(args []string, stderr io.Writer) int {
	cfg, err := parseServeFlags(args, os.Getenv, stderr)
	if errors.Is(err, flagHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, cfg, log); err != nil {
		log.WithError(err).Error("ovn-docker stopped")
		return 1
	}
	return 0
}

func newLogger(cfg serveConfig, out io.Writer) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(out)
	l.SetLevel(cfg.LogLevel)
	if cfg.LogFormat == "json" {
		l.SetFormatter(&logrus.JSONFormatter{})
	}
	return l
}

// runServer listens first, so Docker finds the socket within a second even
// when OVN is down; the databases connect in the background and calls made
// before they do fail with a clear error after --ovn-timeout.
func runServer(ctx context.Context, cfg serveConfig, log *logrus.Logger) error {
	gid, err := lookupGroup(cfg.SocketGroup)
	if err != nil {
		return err
	}
	l, err := plugin.Listen(cfg.Socket, gid)
	if err != nil {
		return err
	}
	defer os.Remove(cfg.Socket)
	defer l.Close()
	log.WithField("socket", cfg.Socket).Info("listening")
	if err := notifyReady(); err != nil {
		log.WithError(err).Warn("systemd was not told the plugin is ready")
	}

	d, im, closeAll, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	srv := plugin.New(d, im, plugin.Config{CallTimeout: cfg.OVNTimeout, Log: log})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	go reconcileLoop(ctx, d, im, cfg, log)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
}

// wire connects the handles the driver needs.
func wire(ctx context.Context, cfg serveConfig, log *logrus.Logger) (*driver.Driver, *ipam.Manager, func(), error) {
	nb, vs, err := connect(cfg.connConfig, log)
	if err != nil {
		return nil, nil, nil, err
	}
	links, err := hostnet.New()
	if err != nil {
		nb.Close()
		vs.Close()
		return nil, nil, nil, err
	}
	nb.Run(ctx)
	vs.Run(ctx)
	d := driver.New(nb, vs, links, driver.Config{Bridge: cfg.Bridge, ReadyTimeout: cfg.ReadyTimeout,
		OrphanGrace: cfg.OrphanGrace, CrashAt: cfg.CrashAt, Log: log})
	im := ipam.NewManager(nb, ipam.Config{IPv4Default: cfg.IPv4Pools, IPv6Default: cfg.IPv6Pools,
		OrphanGrace: cfg.OrphanGrace, CrashAt: cfg.CrashAt, Log: log})
	return d, im, func() { d.Close(); nb.Close(); vs.Close(); links.Close() }, nil
}

func lookupGroup(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	if gid, err := strconv.Atoi(name); err == nil {
		return gid, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("--socket-group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}
