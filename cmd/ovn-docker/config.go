package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/ipam"
)

// flagHelp means --help was asked for and printed.
var flagHelp = flag.ErrHelp

// connConfig says where the databases are; serve and status share it.
type connConfig struct {
	NB       []string
	NBKey    string
	NBCert   string
	NBCACert string
	OVS      string
	Bridge   string
}

// serveConfig is everything `ovn-docker serve` is told.
type serveConfig struct {
	connConfig
	Socket       string
	SocketGroup  string
	LogLevel     logrus.Level
	LogFormat    string
	ReadyTimeout time.Duration
	OVNTimeout   time.Duration
	IPv4Pools    ipam.DefaultPools
	IPv6Pools    ipam.DefaultPools
	Reconcile    time.Duration
	OrphanGrace  time.Duration
	// CrashAt is a fault-test hook, from OVN_DOCKER_CRASH_AT only.
	CrashAt string
}

// envPrefix names the environment variable behind each flag: --nb-ca-cert
// is OVN_DOCKER_NB_CA_CERT. A managed plugin is configured only through
// environment variables, so every flag has one.
const envPrefix = "OVN_DOCKER_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flags registers flags whose defaults come from the environment.
type flags struct {
	fs  *flag.FlagSet
	env func(string) string
}

func newFlags(name string, env func(string) string, out io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return flags{fs, env}
}

func (f flags) str(p *string, name, def, usage string) {
	if v := f.env(envName(name)); v != "" {
		def = v
	}
	f.fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

func (f flags) dur(p *time.Duration, name string, def time.Duration, usage string) {
	if d, err := time.ParseDuration(f.env(envName(name))); err == nil {
		def = d
	}
	f.fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

func (f flags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	return nil
}

// conn registers the database flags; finish turns nb into the list.
func (f flags) conn(c *connConfig, nb *string) {
	f.str(nb, "nb", "unix:/var/run/ovn/ovnnb_db.sock", "OVN Northbound database remote(s), comma-separated unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT")
	f.str(&c.NBKey, "nb-private-key", "", "private key for ssl: NB remotes (PEM)")
	f.str(&c.NBCert, "nb-certificate", "", "certificate for ssl: NB remotes (PEM)")
	f.str(&c.NBCACert, "nb-ca-cert", "", "CA certificate that must have signed the NB server's certificate (PEM)")
	f.str(&c.OVS, "ovs", "unix:/var/run/openvswitch/db.sock", "local Open_vSwitch database remote")
	f.str(&c.Bridge, "bridge", "br-int", "OVS integration bridge that ovn-controller manages")
}

// parseServeFlags reads flags, falling back to the environment, then to
// defaults. It is pure: env is passed in.
func parseServeFlags(args []string, env func(string) string, out io.Writer) (serveConfig, error) {
	f := newFlags("ovn-docker serve", env, out)
	var c serveConfig
	var nb, level, pools4, pools6 string
	f.conn(&c.connConfig, &nb)
	f.str(&c.Socket, "socket", "/run/docker/plugins/openvswitch.sock", "Unix socket Docker talks to; its file name is the driver name")
	f.str(&c.SocketGroup, "socket-group", "", "group owning the socket (mode 0660); empty keeps root's")
	f.str(&level, "log-level", "info", "log level: debug, info, warn or error")
	f.str(&c.LogFormat, "log-format", "text", "log format: text or json")
	f.str(&pools4, "default-pool", "base="+ipam.DefaultIPv4Pools.Base.String()+",size=24",
		"where the IPAM driver takes IPv4 pools for networks created without --subnet (same syntax as dockerd's --default-address-pool)")
	f.str(&pools6, "default-pool-v6", "base="+ipam.DefaultIPv6Pools.Base.String()+",size=64",
		"where the IPAM driver takes IPv6 pools for --ipv6 networks created without an IPv6 --subnet")
	f.dur(&c.ReadyTimeout, "ready-timeout", 5*time.Second, "how long Join waits for ovn-controller to install a port's flows")
	f.dur(&c.OVNTimeout, "ovn-timeout", 10*time.Second, "how long a call waits for an unreachable OVN or OVS database before failing")
	f.dur(&c.Reconcile, "reconcile-interval", 30*time.Second, "how often to look for and clean up what crashes and lost calls left behind")
	f.dur(&c.OrphanGrace, "orphan-grace", time.Minute, "how long an endpoint or address claim must look orphaned before it is cleaned up")
	c.CrashAt = env("OVN_DOCKER_CRASH_AT")
	if err := f.parse(args); err != nil {
		return c, err
	}
	if err := c.connConfig.finish(nb); err != nil {
		return c, err
	}
	return c, c.finish(level, pools4, pools6)
}

func (c *serveConfig) finish(level, pools4, pools6 string) error {
	var err error
	if c.LogLevel, err = logrus.ParseLevel(level); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.ReadyTimeout < 0 || c.OVNTimeout <= 0 || c.Reconcile <= 0 || c.OrphanGrace <= 0 {
		return errors.New("--ready-timeout must not be negative; --ovn-timeout, --reconcile-interval and --orphan-grace must be positive")
	}
	if c.Socket == "" {
		return errors.New("--socket must not be empty")
	}
	if c.IPv4Pools, err = parseDefaultPool(pools4, false); err != nil {
		return fmt.Errorf("--default-pool: %w", err)
	}
	if c.IPv6Pools, err = parseDefaultPool(pools6, true); err != nil {
		return fmt.Errorf("--default-pool-v6: %w", err)
	}
	return nil
}

func (c *connConfig) finish(nb string) error {
	for _, r := range strings.Split(nb, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.NB = append(c.NB, r)
		}
	}
	if err := checkRemotes(c.NB, true); err != nil {
		return fmt.Errorf("--nb: %w", err)
	}
	if err := checkRemotes([]string{c.OVS}, false); err != nil {
		return fmt.Errorf("--ovs: %w", err)
	}
	if c.Bridge == "" {
		return errors.New("--bridge must not be empty")
	}
	return c.checkTLS()
}

func checkRemotes(remotes []string, sslOK bool) error {
	if len(remotes) == 0 {
		return errors.New("no remote given")
	}
	for _, r := range remotes {
		scheme, rest, ok := strings.Cut(r, ":")
		if !ok || rest == "" || (scheme != "unix" && scheme != "tcp" && !(sslOK && scheme == "ssl")) {
			kinds := "unix:PATH or tcp:HOST:PORT"
			if sslOK {
				kinds = "unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT"
			}
			return fmt.Errorf("remote %q is not %s", r, kinds)
		}
	}
	return nil
}

func (c *connConfig) usesSSL() bool {
	for _, r := range c.NB {
		if strings.HasPrefix(r, "ssl:") {
			return true
		}
	}
	return false
}

func (c *connConfig) checkTLS() error {
	if !c.usesSSL() {
		return nil
	}
	if c.NBKey == "" || c.NBCert == "" || c.NBCACert == "" {
		return errors.New("ssl: NB remotes need --nb-private-key, --nb-certificate and --nb-ca-cert")
	}
	return nil
}

// parseDefaultPool reads "base=CIDR,size=N".
func parseDefaultPool(s string, v6 bool) (ipam.DefaultPools, error) {
	var d ipam.DefaultPools
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "base":
			p, err := netip.ParsePrefix(v)
			if err != nil || p.Addr().Is6() != v6 {
				return d, fmt.Errorf("base %q is not an %s prefix", v, map[bool]string{false: "IPv4", true: "IPv6"}[v6])
			}
			d.Base = p.Masked()
		case "size":
			n, err := strconv.Atoi(v)
			if err != nil {
				return d, fmt.Errorf("size %q is not a number", v)
			}
			d.Size = n
		default:
			return d, fmt.Errorf("unknown key %q (want base=CIDR,size=N)", k)
		}
	}
	if !d.Base.IsValid() || d.Size < d.Base.Bits() || d.Size > d.Base.Addr().BitLen() {
		return d, fmt.Errorf("%q: want base=CIDR,size=N with N between the base's length and %d", s, d.Base.Addr().BitLen())
	}
	return d, nil
}
