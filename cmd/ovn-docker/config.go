package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// flagHelp means --help was asked for and printed.
var flagHelp = flag.ErrHelp

// serveConfig is everything `ovn-docker serve` is told.
type serveConfig struct {
	Socket       string
	SocketGroup  string
	NB           []string
	NBKey        string
	NBCert       string
	NBCACert     string
	OVS          string
	Bridge       string
	LogLevel     logrus.Level
	LogFormat    string
	ReadyTimeout time.Duration
	OVNTimeout   time.Duration
}

// envPrefix names the environment variable behind each flag: --nb-ca-cert
// is OVN_DOCKER_NB_CA_CERT. A managed plugin is configured only through
// environment variables, so every flag has one.
const envPrefix = "OVN_DOCKER_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseServeFlags reads flags, falling back to the environment, then to
// defaults. It is pure: env is passed in.
func parseServeFlags(args []string, env func(string) string, out io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("ovn-docker serve", flag.ContinueOnError)
	fs.SetOutput(out)
	var c serveConfig
	var nb, level string
	str := func(p *string, name, def, usage string) {
		if v := env(envName(name)); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
	}
	str(&c.Socket, "socket", "/run/docker/plugins/openvswitch.sock", "Unix socket Docker talks to; its file name is the driver name")
	str(&c.SocketGroup, "socket-group", "", "group owning the socket (mode 0660); empty keeps root's")
	str(&nb, "nb", "unix:/var/run/ovn/ovnnb_db.sock", "OVN Northbound database remote(s), comma-separated unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT")
	str(&c.NBKey, "nb-private-key", "", "private key for ssl: NB remotes (PEM)")
	str(&c.NBCert, "nb-certificate", "", "certificate for ssl: NB remotes (PEM)")
	str(&c.NBCACert, "nb-ca-cert", "", "CA certificate that must have signed the NB server's certificate (PEM)")
	str(&c.OVS, "ovs", "unix:/var/run/openvswitch/db.sock", "local Open_vSwitch database remote")
	str(&c.Bridge, "bridge", "br-int", "OVS integration bridge that ovn-controller manages")
	str(&level, "log-level", "info", "log level: debug, info, warn or error")
	str(&c.LogFormat, "log-format", "text", "log format: text or json")
	dur(&c.ReadyTimeout, "ready-timeout", envDuration(env, "ready-timeout", 5*time.Second),
		"how long Join waits for ovn-controller to install a port's flows")
	dur(&c.OVNTimeout, "ovn-timeout", envDuration(env, "ovn-timeout", 10*time.Second),
		"how long a call waits for an unreachable OVN or OVS database before failing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, flagHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.finish(nb, level)
}

func envDuration(env func(string) string, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(envName(name))); err == nil {
		return d
	}
	return def
}

func (c *serveConfig) finish(nb, level string) error {
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
	var err error
	if c.LogLevel, err = logrus.ParseLevel(level); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.ReadyTimeout < 0 || c.OVNTimeout <= 0 {
		return errors.New("--ready-timeout must not be negative and --ovn-timeout must be positive")
	}
	if c.Bridge == "" || c.Socket == "" {
		return errors.New("--bridge and --socket must not be empty")
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

func (c *serveConfig) usesSSL() bool {
	for _, r := range c.NB {
		if strings.HasPrefix(r, "ssl:") {
			return true
		}
	}
	return false
}

func (c *serveConfig) checkTLS() error {
	if !c.usesSSL() {
		return nil
	}
	if c.NBKey == "" || c.NBCert == "" || c.NBCACert == "" {
		return errors.New("ssl: NB remotes need --nb-private-key, --nb-certificate and --nb-ca-cert")
	}
	return nil
}
