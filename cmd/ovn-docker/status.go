package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/status"
)

// statusConfig is everything `ovn-docker status` is told.
type statusConfig struct {
	connConfig
	JSON    bool
	Timeout time.Duration
	// Parent is the VM's port when the daemon runs nested (--mode nested).
	Parent string
}

func parseStatusFlags(args []string, lookup func(string) (string, bool), out io.Writer) (statusConfig, error) {
	f := newLookupFlags("ovn-docker status", lookup, out)
	var c statusConfig
	var nb string
	f.conn(&c.connConfig, &nb)
	f.fs.BoolVar(&c.JSON, "json", false, "print JSON for machines")
	f.fs.DurationVar(&c.Timeout, "timeout", 3*time.Second, "how long to wait for each database")
	var mode string
	f.str(&mode, "mode", "chassis", "chassis, or nested when the daemon runs in a VM: no local OVS is read")
	f.str(&c.Parent, "parent-port", "", "with --mode nested: the VM's logical switch port")
	if err := f.parse(args); err != nil {
		return c, err
	}
	switch {
	case mode != "chassis" && mode != "nested":
		return c, c.bad("mode", fmt.Errorf("must be chassis or nested, not %q", mode))
	case mode == "nested" && c.Parent == "":
		return c, c.bad("parent-port", errors.New("--mode nested needs the VM's logical port"))
	case mode == "chassis" && c.Parent != "":
		return c, c.bad("parent-port", errors.New("goes with --mode nested"))
	}
	return c, c.connConfig.finish(nb)
}

// runStatus prints the report; exit status 1 when a database did not answer.
func runStatus(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseStatusFlags(args, os.LookupEnv, stderr)
	if errors.Is(err, flagHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker status: %v\n", err)
		return 2
	}
	r, err := collect(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker status: %v\n", err)
		return 2
	}
	if cfg.JSON {
		err = r.JSON(stdout)
	} else {
		err = r.Text(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker status: %v\n", err)
		return 2
	}
	if r.OVN.Error != "" || r.Host.OVS.Error != "" {
		return 1
	}
	return 0
}

func collect(cfg statusConfig) (*status.Report, error) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	nbc, err := connectNB(cfg.connConfig, log)
	if err != nil {
		return nil, err
	}
	defer nbc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nbc.Run(ctx)
	opt := status.Options{Bridge: cfg.Bridge, NBRemote: strings.Join(cfg.NB, ","), OVSRemote: cfg.OVS, Timeout: cfg.Timeout}
	var vs status.OVS
	if cfg.Parent != "" {
		opt.Nested = &status.Nested{Parent: cfg.Parent, Chassis: driver.Nested{Parent: cfg.Parent}.Chassis()}
	} else {
		lc, err := local.New(conn.Config{Endpoints: []string{cfg.OVS}, Log: log})
		if err != nil {
			return nil, err
		}
		defer lc.Close()
		lc.Run(ctx)
		vs = lc
	}
	if cfg.Docker != "" {
		c, err := dockerapi.New(cfg.Docker)
		if err != nil {
			return nil, err
		}
		opt.Docker = c
	}
	return status.Collect(ctx, nbc, store.New(nbc), vs, opt), nil
}
