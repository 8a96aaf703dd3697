package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

const gatewayUsage = `Usage:
  ovn-docker gateway set --subnet CIDR --next-hop IP --chassis NAME[,NAME...] [--range CIDR] [--physnet NAME]
  ovn-docker gateway show
  ovn-docker gateway unset
The outside every routed network (-o ovn.router) leaves through, kept in the
Northbound database for every host: routers made from then on get an uplink
on the external segment, SNAT to their address there, and a default route to
the next hop. Each gateway chassis maps the physnet to a bridge on that
segment (ovs-vsctl set open . external-ids:ovn-bridge-mappings=NAME:br-ex).
`

// gatewayConfig is what `ovn-docker gateway` is told.
type gatewayConfig struct {
	connConfig
	Verb     string
	External nb.External
	Timeout  time.Duration
}

var chassisName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// parseGatewayFlags reads the verb and its flags; a pure function.
func parseGatewayFlags(args []string, lookup func(string) (string, bool), out io.Writer) (gatewayConfig, error) {
	var c gatewayConfig
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(out, gatewayUsage)
		return c, flagHelp
	}
	if len(args) == 0 || (args[0] != "set" && args[0] != "show" && args[0] != "unset") {
		fmt.Fprint(out, gatewayUsage)
		return c, errors.New("give set, show or unset")
	}
	c.Verb = args[0]
	f := newLookupFlags("ovn-docker gateway "+c.Verb, lookup, out)
	var nbs, subnet, nextHop, rng, chassis string
	f.conn(&c.connConfig, &nbs)
	f.fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "how long to wait for the Northbound database")
	if c.Verb == "set" {
		f.fs.StringVar(&subnet, "subnet", "", "the external segment, an IPv4 CIDR (required)")
		f.fs.StringVar(&nextHop, "next-hop", "", "the address on it where what leaves is sent (required)")
		f.fs.StringVar(&rng, "range", "", "where routers' addresses on the segment come from, a CIDR within --subnet (default: all of it)")
		f.fs.StringVar(&chassis, "chassis", "", "gateway chassis (system-id), comma-separated, highest priority first (required)")
		f.fs.StringVar(&c.External.Physnet, "physnet", "physnet", "the ovn-bridge-mappings name of the segment on the gateway chassis")
	}
	if err := f.parse(args[1:]); err != nil {
		return c, err
	}
	if err := c.connConfig.finish(nbs); err != nil || c.Verb != "set" {
		return c, err
	}
	e, err := parseExternal(subnet, nextHop, rng, chassis, c.External.Physnet)
	c.External = e
	return c, err
}

// parseExternal checks the outside as given.
func parseExternal(subnet, nextHop, rng, chassis, physnet string) (nb.External, error) {
	e := nb.External{Physnet: physnet}
	var err error
	if e.Subnet, err = netip.ParsePrefix(subnet); err != nil || !e.Subnet.Addr().Is4() || e.Subnet.Bits() > 30 {
		return e, fmt.Errorf("--subnet %q: give the external segment as an IPv4 CIDR of /30 or larger", subnet)
	}
	e.Subnet = e.Subnet.Masked()
	if e.NextHop, err = netip.ParseAddr(nextHop); err != nil || !e.Subnet.Contains(e.NextHop) {
		return e, fmt.Errorf("--next-hop %q: give an address in %s", nextHop, e.Subnet)
	}
	e.Range = e.Subnet
	if rng != "" {
		if e.Range, err = netip.ParsePrefix(rng); err != nil || !e.Subnet.Contains(e.Range.Addr()) || e.Range.Bits() < e.Subnet.Bits() {
			return e, fmt.Errorf("--range %q: give a CIDR within %s", rng, e.Subnet)
		}
		e.Range = e.Range.Masked()
	}
	for _, ch := range strings.Split(chassis, ",") {
		if ch = strings.TrimSpace(ch); !chassisName.MatchString(ch) {
			return e, fmt.Errorf("--chassis %q: give the gateway chassis' system-ids, comma-separated", chassis)
		}
		e.Chassis = append(e.Chassis, ch)
	}
	if !chassisName.MatchString(physnet) {
		return e, fmt.Errorf("--physnet %q: give the name used in ovn-bridge-mappings", physnet)
	}
	return e, nil
}

// runGateway sets, shows or removes the outside.
func runGateway(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseGatewayFlags(args, os.LookupEnv, stderr)
	if errors.Is(err, flagHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker gateway: %v\n", err)
		return 2
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	c, err := connectNB(cfg.connConfig, log)
	if err != nil {
		fmt.Fprintf(stderr, "ovn-docker gateway: %v\n", err)
		return 2
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	c.Run(ctx)
	if err := gatewayVerb(ctx, c, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "ovn-docker gateway: %v\n", err)
		return 1
	}
	return 0
}

func gatewayVerb(ctx context.Context, c *nb.Client, cfg gatewayConfig, out io.Writer) error {
	if err := c.WaitReady(ctx); err != nil {
		return err
	}
	switch cfg.Verb {
	case "set":
		if err := c.SetExternal(ctx, cfg.External); err != nil {
			return err
		}
		fmt.Fprintf(out, "outside set: %s\n", describeExternal(&cfg.External))
		// Routers made before get their way out now, not at the next
		// reconciliation pass.
		given, err := c.EnsureUplinks(ctx)
		if err != nil {
			return err
		}
		if len(given) > 0 {
			fmt.Fprintf(out, "routers given an uplink: %s\n", strings.Join(given, " "))
		}
	case "show":
		e, err := c.External(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, describeExternal(e))
	case "unset":
		if err := c.UnsetExternal(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, "outside removed")
	}
	return nil
}

func describeExternal(e *nb.External) string {
	if e == nil {
		return "no outside set: routed networks reach only their router's other networks"
	}
	return e.String()
}

// connectNB makes (but does not run) the Northbound client.
func connectNB(cfg connConfig, log logrus.FieldLogger) (*nb.Client, error) {
	nbCfg := conn.Config{Endpoints: cfg.NB, LeaderOnly: true, Log: log}
	if cfg.usesSSL() {
		t, err := conn.LoadTLS(cfg.NBKey, cfg.NBCert, cfg.NBCACert)
		if err != nil {
			return nil, err
		}
		nbCfg.TLS = t
	}
	return nb.New(nbCfg)
}
