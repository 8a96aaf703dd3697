package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// notInPlugin are the serve settings a managed plugin has no use for: its
// socket is the one plugin.json's interface.socket names, created by Docker
// in a directory of its own, and only Docker talks to it.
var notInPlugin = map[string]string{
	"socket":       "a managed plugin's socket is fixed by plugin.json's interface.socket",
	"socket-group": "only dockerd, as root, connects to a managed plugin's socket",
}

// sameAsDefault says whether v, read as fl's value, is fl's default: "1m"
// is the default "1m0s".
func sameAsDefault(fl *flag.Flag, v string) error {
	defer fl.Value.Set(fl.DefValue)
	if err := fl.Value.Set(v); err != nil {
		return err
	}
	if got := fl.Value.String(); got != fl.DefValue {
		return fmt.Errorf("%q is %q, the default is %q", v, got, fl.DefValue)
	}
	return nil
}

func serveFlagSet() *flag.FlagSet {
	return serveFlags(new(serveConfig), new(serveStrings), noEnv, io.Discard).fs
}

// A managed plugin is configured only through plugin.json's "env": each
// serve setting is there, with the flag's default, so that
// `docker plugin set` can change it and `docker plugin inspect` shows it.
func TestPluginJSONHasEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../../plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Env []struct {
			Name     string
			Value    string
			Settable []string
		}
		Mounts []struct {
			Name, Source, Destination, Type string
			Options, Settable               []string
		}
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, e := range p.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s listed twice", e.Name)
		}
		env[e.Name] = e.Value
		if len(e.Settable) != 1 || e.Settable[0] != "value" {
			t.Errorf("%s is not settable", e.Name)
		}
	}
	fs := serveFlagSet()
	fs.VisitAll(func(fl *flag.Flag) {
		name := envName(fl.Name)
		if why, skip := notInPlugin[fl.Name]; skip {
			if _, ok := env[name]; ok {
				t.Errorf("%s is in plugin.json, but %s", name, why)
			}
			return
		}
		v, ok := env[name]
		if !ok {
			t.Errorf("plugin.json's env lacks %s (default %q)", name, fl.DefValue)
			return
		}
		if err := sameAsDefault(fl, v); err != nil {
			t.Errorf("plugin.json's %s: %v", name, err)
		}
	})
	for name := range env {
		if !strings.HasPrefix(name, envPrefix) || fs.Lookup(strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "_", "-")) == nil {
			t.Errorf("plugin.json's %s is no setting of serve", name)
		}
	}
	// The default --docker address must exist inside the plugin.
	dockerPath := strings.TrimPrefix(fs.Lookup("docker").DefValue, "unix://")
	found := false
	for _, m := range p.Mounts {
		if m.Destination == dockerPath {
			found = m.Source == dockerPath && m.Type == "bind" && strings.Join(m.Options, ",") == "rbind" &&
				strings.Join(m.Settable, ",") == "source"
		}
	}
	if !found {
		t.Errorf("plugin.json has no settable rbind mount of %s onto itself", dockerPath)
	}
}

var defaultLine = regexp.MustCompile(`^#(` + envPrefix + `[A-Z0-9_]+)=(.*)$`)

// /etc/default/ovn-docker lists every serve setting, commented out (the
// binary's defaults apply until the operator chooses), with the default
// where there is one and a valid example where the default is empty.
func TestDefaultFileHasEverySetting(t *testing.T) {
	f, err := os.Open("../../packaging/ovn-docker.default")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := defaultLine.FindStringSubmatch(line); m != nil {
			if _, dup := listed[m[1]]; dup {
				t.Errorf("line %d: %s listed twice", n, m[1])
			}
			listed[m[1]] = m[2]
		} else if line != "" && !strings.HasPrefix(line, "# ") {
			t.Errorf("line %d %q is neither a commented-out setting nor a comment", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	fs := serveFlagSet()
	fs.VisitAll(func(fl *flag.Flag) {
		name := envName(fl.Name)
		v, ok := listed[name]
		switch {
		case !ok:
			t.Errorf("packaging/ovn-docker.default lacks %s (default %q)", name, fl.DefValue)
		case fl.DefValue != "":
			if err := sameAsDefault(fl, v); err != nil {
				t.Errorf("packaging/ovn-docker.default's %s: %v", name, err)
			}
		}
		delete(listed, name)
	})
	for name := range listed {
		t.Errorf("packaging/ovn-docker.default's %s is no setting of serve", name)
	}
}

// The examples in the default file are valid, uncommented all together.
func TestDefaultFileExamplesParse(t *testing.T) {
	raw, err := os.ReadFile("../../packaging/ovn-docker.default")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if m := defaultLine.FindStringSubmatch(line); m != nil {
			env[m[1]] = m[2]
		}
	}
	// Group names are looked up on the host at start, not parsed.
	if _, err := parseServeFlags(nil, envOf(env), io.Discard); err != nil {
		t.Fatal(err)
	}
}
