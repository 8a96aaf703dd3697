package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/ipam"
)

// flagHelp means --help was asked for and printed.
var flagHelp = flag.ErrHelp

// connConfig says where the databases (and Docker's API) are; serve and
// status share it.
type connConfig struct {
	NB       []string
	NBKey    string
	NBCert   string
	NBCACert string
	OVS      string
	Bridge   string
	// Docker is this host's Docker Engine API, unix:///PATH, only ever
	// read from; empty means the Docker API is not used.
	Docker string

	// fromEnv holds, for each setting taken from its environment variable,
	// the value read, so that a bad value is reported under the name the
	// operator actually wrote.
	fromEnv map[string]string
}

// serveConfig is everything `ovn-docker serve` is told.
type serveConfig struct {
	connConfig
	Socket       string
	SocketGroup  string
	LogLevel     logrus.Level
	LogFormat    string
	ReadyTimeout time.Duration
	// RemoteReadyTimeout: see driver.Config.
	RemoteReadyTimeout time.Duration
	OVNTimeout         time.Duration
	IPv4Pools          ipam.DefaultPools
	IPv6Pools          ipam.DefaultPools
	Reconcile          time.Duration
	OrphanGrace        time.Duration
	// Pprof: where Go's profiler listens (--pprof); empty: nowhere.
	Pprof string
	// Swarm: see driver.Config (--scope swarm).
	Swarm bool
	// Nested: the daemon runs in a VM (--mode nested); see driver.Nested.
	Nested *driver.Nested
}

// envPrefix names the environment variable behind each flag: --nb-ca-cert
// is OVN_DOCKER_NB_CA_CERT. A managed plugin is configured only through
// environment variables, so every flag has one.
const envPrefix = "OVN_DOCKER_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flags registers flags backed by environment variables. A flag given on
// the command line wins over its variable; a variable that is set, even to
// the empty string, wins over the default, and a value that does not parse
// is an error, never a silent fall back to the default.
type flags struct {
	fs      *flag.FlagSet
	lookup  func(string) (string, bool)
	backed  map[string]bool   // flags that have an environment variable
	fromEnv map[string]string // filled by parse
}

// newFlags reads the environment through env, which cannot tell an empty
// variable from an unset one, so an empty variable counts as unset.
func newFlags(name string, env func(string) string, out io.Writer) flags {
	return newLookupFlags(name, func(k string) (string, bool) {
		v := env(k)
		return v, v != ""
	}, out)
}

func newLookupFlags(name string, lookup func(string) (string, bool), out io.Writer) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return flags{fs: fs, lookup: lookup, backed: map[string]bool{}, fromEnv: map[string]string{}}
}

// envBacked marks name as having an environment variable and says so in
// its usage text.
func (f flags) envBacked(name, usage string) string {
	f.backed[name] = true
	return fmt.Sprintf("%s (env %s)", usage, envName(name))
}

func (f flags) str(p *string, name, def, usage string) {
	f.fs.StringVar(p, name, def, f.envBacked(name, usage))
}

func (f flags) dur(p *time.Duration, name string, def time.Duration, usage string) {
	f.fs.DurationVar(p, name, def, f.envBacked(name, usage))
}

// parse reads args, then the environment variables of the flags args did
// not give.
func (f flags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var err error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if err != nil || given[fl.Name] || !f.backed[fl.Name] {
			return
		}
		v, ok := f.lookup(envName(fl.Name))
		if !ok {
			return
		}
		f.fromEnv[fl.Name] = v
		if e := fl.Value.Set(v); e != nil {
			// The flag package reports every bad duration as "parse error".
			if _, perr := time.ParseDuration(v); perr != nil && isDuration(fl) {
				e = perr
			}
			err = fmt.Errorf("%s=%q: %w", envName(fl.Name), v, e)
		}
	})
	return err
}

func isDuration(fl *flag.Flag) bool {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return false
	}
	_, ok = g.Get().(time.Duration)
	return ok
}

// bad reports a value that parsed but makes no sense, under the name it was
// given by: the flag or the environment variable.
func (c *connConfig) bad(flagName string, err error) error {
	if v, ok := c.fromEnv[flagName]; ok {
		return fmt.Errorf("%s=%q: %w", envName(flagName), v, err)
	}
	return fmt.Errorf("--%s: %w", flagName, err)
}

// defaultDocker is where dockerd serves its API unless told otherwise.
const defaultDocker = "unix:///var/run/docker.sock"

// conn registers the connection flags; finish turns nb into the list.
func (f flags) conn(c *connConfig, nb *string) {
	c.fromEnv = f.fromEnv
	f.str(nb, "nb", "unix:/var/run/ovn/ovnnb_db.sock", "OVN Northbound database remote(s), comma-separated unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT")
	f.str(&c.NBKey, "nb-private-key", "", "private key for ssl: NB remotes (PEM)")
	f.str(&c.NBCert, "nb-certificate", "", "certificate for ssl: NB remotes (PEM)")
	f.str(&c.NBCACert, "nb-ca-cert", "", "CA certificate that must have signed the NB server's certificate (PEM)")
	f.str(&c.OVS, "ovs", "unix:/var/run/openvswitch/db.sock", "local Open_vSwitch database remote")
	f.str(&c.Bridge, "bridge", "br-int", "OVS integration bridge that ovn-controller manages")
	f.str(&c.Docker, "docker", defaultDocker,
		"this host's Docker Engine API socket, unix:///PATH, only read from: reconciliation asks it which networks Docker still knows, and the names of containers on routed networks are learned from it for other hosts; empty: do not use the Docker API")
}

// serveStrings are the serve settings that finish parses from text.
type serveStrings struct{ nb, level, pools4, pools6, scope, mode, parent, uplink string }

// serveFlags registers every flag of `ovn-docker serve`.
func serveFlags(c *serveConfig, s *serveStrings, lookup func(string) (string, bool), out io.Writer) flags {
	f := newLookupFlags("ovn-docker serve", lookup, out)
	f.conn(&c.connConfig, &s.nb)
	f.str(&c.Socket, "socket", "/run/docker/plugins/openvswitch.sock", "Unix socket Docker talks to; its file name is the driver name")
	f.str(&c.SocketGroup, "socket-group", "", "group owning the socket (mode 0660); empty keeps root's")
	f.str(&s.level, "log-level", "info", "log level: debug, info, warn or error")
	f.str(&c.LogFormat, "log-format", "text", "log format: text or json")
	f.str(&s.pools4, "default-pool", "base="+ipam.DefaultIPv4Pools.Base.String()+",size=24",
		"where the IPAM driver takes IPv4 pools for networks created without --subnet (same syntax as dockerd's --default-address-pool)")
	f.str(&s.pools6, "default-pool-v6", "base="+ipam.DefaultIPv6Pools.Base.String()+",size=64",
		"where the IPAM driver takes IPv6 pools for --ipv6 networks created without an IPv6 --subnet")
	f.dur(&c.ReadyTimeout, "ready-timeout", 5*time.Second, "how long Join waits for ovn-controller to install a port's flows")
	f.dur(&c.RemoteReadyTimeout, "remote-ready-timeout", 5*time.Second,
		"how long Join waits, on a network shared by hosts (ovn.network) or routed (ovn.router), for every chassis to have the port's flows (NB_Global hv_cfg); 0 skips it")

	f.str(&s.mode, "mode", "chassis",
		"chassis: this host runs OVS and ovn-controller, containers get veths on --bridge; nested: this host is a VM on OVN with no OVS, "+
			"containers get VLAN interfaces of --uplink on nested ports of --parent-port, and only the NB is used (docs/nested.md)")
	f.str(&s.parent, "parent-port", "", "with --mode nested: the VM's logical switch port, the parent of its containers' ports")
	f.str(&s.uplink, "uplink", "", "with --mode nested: the VM's network interface bound to --parent-port")
	f.str(&s.scope, "scope", "local",
		"local: each Docker engine's networks are its own (ovn.network shares them between hosts); swarm: for swarm nodes, "+
			"the swarm manager allocates every network and each node gets its settings (Docker 20.10 then makes networks only in a swarm)")
	f.dur(&c.OVNTimeout, "ovn-timeout", 10*time.Second,
		"how long a call waits for an unreachable OVN or OVS database before failing; on SIGTERM, calls in flight get this plus --ready-timeout to finish")
	f.dur(&c.Reconcile, "reconcile-interval", 30*time.Second, "how often to look for and clean up what crashes and lost calls left behind")
	f.dur(&c.OrphanGrace, "orphan-grace", time.Minute, "how long an endpoint or address claim must look orphaned before it is cleaned up")
	f.str(&c.Pprof, "pprof", "", "loopback HOST:PORT where Go's profiler answers (/debug/pprof/), for finding what a slow or big daemon spends on; empty: off")
	return f
}

// parseServeFlags reads flags, falling back to the environment, then to
// defaults. It is pure: the environment is passed in (os.LookupEnv).
func parseServeFlags(args []string, lookup func(string) (string, bool), out io.Writer) (serveConfig, error) {
	var c serveConfig
	var s serveStrings
	f := serveFlags(&c, &s, lookup, out)
	if err := f.parse(args); err != nil {
		return c, err
	}
	if err := c.connConfig.finish(s.nb); err != nil {
		return c, err
	}
	return c, c.finish(s)
}

func (c *serveConfig) finish(s serveStrings) error {
	var err error
	if c.LogLevel, err = logrus.ParseLevel(s.level); err != nil {
		return c.bad("log-level", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c.bad("log-format", fmt.Errorf("must be text or json, not %q", c.LogFormat))
	}
	switch s.scope {
	case "local":
	case "swarm":
		c.Swarm = true
	default:
		return c.bad("scope", fmt.Errorf("must be local or swarm, not %q", s.scope))
	}
	if c.Nested, err = c.parseMode(s); err != nil {
		return err
	}
	if c.RemoteReadyTimeout < 0 {
		return c.bad("remote-ready-timeout", errors.New("must not be negative"))
	}
	if c.ReadyTimeout < 0 {
		return c.bad("ready-timeout", errors.New("must not be negative"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ovn-timeout", c.OVNTimeout}, {"reconcile-interval", c.Reconcile}, {"orphan-grace", c.OrphanGrace}} {
		if d.v <= 0 {
			return c.bad(d.name, errors.New("must be positive"))
		}
	}
	if c.Socket == "" {
		return c.bad("socket", errors.New("must not be empty"))
	}
	if err := checkPprof(c.Pprof); err != nil {
		return c.bad("pprof", err)
	}
	if c.IPv4Pools, err = parseDefaultPool(s.pools4, false); err != nil {
		return c.bad("default-pool", err)
	}
	if c.IPv6Pools, err = parseDefaultPool(s.pools6, true); err != nil {
		return c.bad("default-pool-v6", err)
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
		return c.bad("nb", err)
	}
	if err := checkRemotes([]string{c.OVS}, false); err != nil {
		return c.bad("ovs", err)
	}
	if c.Bridge == "" {
		return c.bad("bridge", errors.New("must not be empty"))
	}
	if err := checkDocker(c.Docker); err != nil {
		return c.bad("docker", err)
	}
	return c.checkTLS()
}

// checkDocker accepts only a local socket: the daemon asks this host's
// engine about this host's networks, and never over the network.
func checkDocker(addr string) error {
	if addr == "" {
		return nil
	}
	path, ok := strings.CutPrefix(addr, "unix://")
	if !ok || !filepath.IsAbs(path) || path == "/" {
		return fmt.Errorf("%q is not unix:///ABSOLUTE/PATH of the Docker API socket (empty: do not use the Docker API)", addr)
	}
	return nil
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
	var missing []string
	for _, s := range []struct{ name, v string }{
		{"nb-private-key", c.NBKey}, {"nb-certificate", c.NBCert}, {"nb-ca-cert", c.NBCACert},
	} {
		if s.v == "" {
			missing = append(missing, fmt.Sprintf("--%s (env %s)", s.name, envName(s.name)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("ssl: NB remotes need %s", strings.Join(missing, ", "))
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

// parseMode reads --mode and what nested mode needs; nil for chassis.
func (c *serveConfig) parseMode(s serveStrings) (*driver.Nested, error) {
	switch s.mode {
	case "chassis":
		for name, v := range map[string]string{"parent-port": s.parent, "uplink": s.uplink} {
			if v != "" {
				return nil, c.bad(name, errors.New("goes with --mode nested"))
			}
		}
		return nil, nil
	case "nested":
	default:
		return nil, c.bad("mode", fmt.Errorf("must be chassis or nested, not %q", s.mode))
	}
	if s.parent == "" {
		return nil, c.bad("parent-port", errors.New("--mode nested needs the VM's logical port"))
	}
	if s.uplink == "" || len(s.uplink) > 15 || strings.ContainsAny(s.uplink, "/ \t\n") {
		return nil, c.bad("uplink", fmt.Errorf("--mode nested needs the VM's network interface, and %q is no interface name", s.uplink))
	}
	return &driver.Nested{Parent: s.parent, Uplink: s.uplink}, nil
}
