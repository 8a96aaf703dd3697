package main

import (
	"bytes"
	"flag"
	"io"
	"strconv"
	"strings"
	"testing"
)

// badEnv holds, for every environment-backed setting of serve, an
// environment that is wrong because of that setting's variable.
var badEnv = map[string]map[string]string{
	"nb":                   {"OVN_DOCKER_NB": "http://x"},
	"nb-private-key":       {"OVN_DOCKER_NB": "ssl:10.0.0.1:6641", "OVN_DOCKER_NB_PRIVATE_KEY": "", "OVN_DOCKER_NB_CERTIFICATE": "c", "OVN_DOCKER_NB_CA_CERT": "ca"},
	"nb-certificate":       {"OVN_DOCKER_NB": "ssl:10.0.0.1:6641", "OVN_DOCKER_NB_PRIVATE_KEY": "k", "OVN_DOCKER_NB_CERTIFICATE": "", "OVN_DOCKER_NB_CA_CERT": "ca"},
	"nb-ca-cert":           {"OVN_DOCKER_NB": "ssl:10.0.0.1:6641", "OVN_DOCKER_NB_PRIVATE_KEY": "k", "OVN_DOCKER_NB_CERTIFICATE": "c", "OVN_DOCKER_NB_CA_CERT": ""},
	"ovs":                  {"OVN_DOCKER_OVS": "ssl:1.2.3.4:6640"},
	"bridge":               {"OVN_DOCKER_BRIDGE": ""},
	"docker":               {"OVN_DOCKER_DOCKER": "tcp://10.0.0.1:2375"},
	"socket":               {"OVN_DOCKER_SOCKET": ""},
	"socket-group":         {"OVN_DOCKER_SOCKET_GROUP": "no-such-group-ovn-docker"},
	"log-level":            {"OVN_DOCKER_LOG_LEVEL": "loud"},
	"log-format":           {"OVN_DOCKER_LOG_FORMAT": "xml"},
	"default-pool":         {"OVN_DOCKER_DEFAULT_POOL": "base=fd00::/8,size=64"},
	"default-pool-v6":      {"OVN_DOCKER_DEFAULT_POOL_V6": "base=10.0.0.0/8,size=24"},
	"ready-timeout":        {"OVN_DOCKER_READY_TIMEOUT": "5"},
	"remote-ready-timeout": {"OVN_DOCKER_REMOTE_READY_TIMEOUT": "-1s"},
	"scope":                {"OVN_DOCKER_SCOPE": "global"},
	"mode":                 {"OVN_DOCKER_MODE": "vm"},
	"parent-port":          {"OVN_DOCKER_MODE": "nested", "OVN_DOCKER_PARENT_PORT": "", "OVN_DOCKER_UPLINK": "eth0"},
	"uplink":               {"OVN_DOCKER_MODE": "nested", "OVN_DOCKER_PARENT_PORT": "vm1", "OVN_DOCKER_UPLINK": "eth0/1"},
	"ovn-timeout":          {"OVN_DOCKER_OVN_TIMEOUT": "0s"},
	"reconcile-interval":   {"OVN_DOCKER_RECONCILE_INTERVAL": "soon"},
	"orphan-grace":         {"OVN_DOCKER_ORPHAN_GRACE": "-1m"},
	"pprof":                {"OVN_DOCKER_PPROF": "0.0.0.0:6060"},
}

// A bad value in any variable stops serve at start, exit status 2, with a
// message naming the variable and its value: nothing falls back to a
// default silently.
func TestEveryBadVariableIsAnError(t *testing.T) {
	serveFlags(new(serveConfig), new(serveStrings), noEnv, io.Discard).fs.VisitAll(func(fl *flag.Flag) {
		env, ok := badEnv[fl.Name]
		if !ok {
			t.Errorf("no bad value for %s: add one to badEnv", envName(fl.Name))
			return
		}
		name := envName(fl.Name)
		var stderr bytes.Buffer
		if _, code := loadServeConfig(nil, envOf(env), &stderr); code != 2 {
			t.Errorf("%s=%q: exit status %d, want 2 (stderr %q)", name, env[name], code, stderr.String())
		}
		want := "ovn-docker serve: " + name + "=" + strconv.Quote(env[name]) + ": "
		if fl.Name == "nb-private-key" || fl.Name == "nb-certificate" || fl.Name == "nb-ca-cert" {
			// A missing TLS file is a missing setting: name both ways to give it.
			want = "ovn-docker serve: ssl: NB remotes need --" + fl.Name + " (env " + name + ")\n"
		}
		if !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("stderr %q does not start with %q", stderr.String(), want)
		}
	})
}

// The whole path, from the process environment to the exit status.
func TestBadVariableStopsServe(t *testing.T) {
	t.Setenv("OVN_DOCKER_READY_TIMEOUT", "5")
	var stderr bytes.Buffer
	if code := run([]string{"serve"}, io.Discard, &stderr); code != 2 ||
		stderr.String() != "ovn-docker serve: OVN_DOCKER_READY_TIMEOUT=\"5\": time: missing unit in duration \"5\"\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestBadDurationSaysWhy(t *testing.T) {
	_, err := parseServeFlags(nil, envOf(map[string]string{"OVN_DOCKER_READY_TIMEOUT": "5"}), io.Discard)
	if err == nil || err.Error() != `OVN_DOCKER_READY_TIMEOUT="5": time: missing unit in duration "5"` {
		t.Fatalf("got %v", err)
	}
	// The same value as a flag names the flag.
	_, err = parseServeFlags([]string{"--orphan-grace", "0s"}, noEnv, io.Discard)
	if err == nil || err.Error() != "--orphan-grace: must be positive" {
		t.Fatalf("got %v", err)
	}
}

// A flag given wins, and its variable is not even read; a variable set to
// the empty string is used as the empty string, which for --docker means
// no Docker API.
func TestFlagBeatsVariableAndEmptyIsAValue(t *testing.T) {
	c, err := parseServeFlags([]string{"--ready-timeout", "3s"},
		envOf(map[string]string{"OVN_DOCKER_READY_TIMEOUT": "5", "OVN_DOCKER_DOCKER": ""}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadyTimeout.String() != "3s" || c.Docker != "" {
		t.Fatalf("%+v", c)
	}
	if c, _ := parseServeFlags(nil, noEnv, io.Discard); c.Docker != "unix:///var/run/docker.sock" {
		t.Fatalf("default --docker %q", c.Docker)
	}
}

func TestDockerAddress(t *testing.T) {
	for _, ok := range []string{"", "unix:///var/run/docker.sock", "unix:///run/user/1000/docker.sock"} {
		c, err := parseServeFlags([]string{"--docker", ok}, noEnv, io.Discard)
		if err != nil || c.Docker != ok {
			t.Errorf("--docker %q: %v %q", ok, err, c.Docker)
		}
	}
	for _, bad := range []string{"tcp://127.0.0.1:2375", "unix://var/run/docker.sock", "/var/run/docker.sock",
		"unix:/var/run/docker.sock", "unix://", "unix:///", "npipe:////./pipe/docker_engine"} {
		_, err := parseServeFlags([]string{"--docker", bad}, noEnv, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "--docker: ") {
			t.Errorf("--docker %q: %v", bad, err)
		}
	}
	// status reads the same setting (to tell which leftovers are stale).
	if _, err := parseStatusFlags([]string{"--docker", "tcp://x:1"}, noLookup, io.Discard); err == nil {
		t.Error("status accepted a TCP Docker address")
	}
	c, err := parseStatusFlags(nil, noLookup, io.Discard)
	if err != nil || c.Docker != defaultDocker {
		t.Errorf("status --docker default %q %v", c.Docker, err)
	}
}

func noLookup(string) (string, bool) { return "", false }

// --mode nested takes the VM's port and interface; chassis mode refuses them.
func TestNestedMode(t *testing.T) {
	c, err := parseServeFlags([]string{"--mode", "nested", "--parent-port", "vm1", "--uplink", "eth0"}, noEnv, io.Discard)
	if err != nil || c.Nested == nil || c.Nested.Parent != "vm1" || c.Nested.Uplink != "eth0" {
		t.Fatalf("%+v %v", c.Nested, err)
	}
	if c, err := parseServeFlags(nil, noEnv, io.Discard); err != nil || c.Nested != nil {
		t.Fatalf("default: %+v %v", c.Nested, err)
	}
	for args, want := range map[string]string{
		"--uplink eth0":                   "--uplink: goes with --mode nested",
		"--mode nested --uplink eth0":     "--parent-port: --mode nested needs the VM's logical port",
		"--mode nested --parent-port vm1": `--uplink: --mode nested needs the VM's network interface, and "" is no interface name`,
		"--mode vm":                       `--mode: must be chassis or nested, not "vm"`,
	} {
		_, err := parseServeFlags(strings.Fields(args), noEnv, io.Discard)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
}

// status reads the same mode settings: nested needs the VM's port.
func TestStatusNestedMode(t *testing.T) {
	c, err := parseStatusFlags(nil, envOf(map[string]string{"OVN_DOCKER_MODE": "nested", "OVN_DOCKER_PARENT_PORT": "vm1"}), io.Discard)
	if err != nil || c.Parent != "vm1" {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := parseStatusFlags(nil, noEnv, io.Discard); err != nil || c.Parent != "" {
		t.Fatalf("chassis mode: %+v %v", c, err)
	}
	for _, args := range [][]string{{"--mode", "nested"}, {"--mode", "vm"}, {"--parent-port", "vm1"}} {
		if _, err := parseStatusFlags(args, noEnv, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
