// Package multihost drives real Docker engines on the multi-host bed of
// test/env/hosts.sh: N hosts, each with its own dockerd, OVS,
// ovn-controller and ovn-docker, on one OVN central. `make test-hosts`
// brings the bed up and runs it; when the bed is not up the suite fails
// and says how to bring it up.
package multihost

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const (
	hostsScript = "../env/hosts.sh"
	image       = "ovn-docker-test/busybox:latest"
	nbSock      = "unix:/var/lib/ovn-hosts/central/ovnnb_db.sock"
)

// hosts the suite needs up.
var hosts = []string{"host1", "host2", "host3"}

func TestMain(m *testing.M) {
	for _, h := range hosts {
		if out, err := hostSh(h, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
			fmt.Fprintf(os.Stderr, "multihost: %s is not up (%v: %s)\n(run test/env/hosts.sh up %d; make test-hosts does)\n",
				h, err, out, len(hosts))
			os.Exit(1)
		}
	}
	if err := outOfSwarm(); err != nil {
		fmt.Fprintf(os.Stderr, "multihost: %v\n", err)
		os.Exit(1)
	}
	// The first packet across hosts must not depend on how long the bed
	// has been idle (see underlay_neighbors in hosts.sh).
	if out, err := runScript("neighbors"); err != nil {
		fmt.Fprintf(os.Stderr, "multihost: hosts.sh neighbors: %v: %s\n", err, out)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// hostSh runs a command inside a host of the bed.
func hostSh(host string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, hostsScript, append([]string{"exec", host}, args...)...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s: %s: %v: %s", host, strings.Join(args, " "), err, s)
	}
	return s, nil
}

func on(t *testing.T, host string, args ...string) string {
	t.Helper()
	out, err := hostSh(host, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// docker runs the docker CLI on a host.
func docker(t *testing.T, host string, args ...string) string {
	t.Helper()
	return on(t, host, append([]string{"docker"}, args...)...)
}

// nbctl reads the shared Northbound database.
func nbctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := nbctlErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func nbctlErr(args ...string) (string, error) {
	out, err := exec.Command("ovn-nbctl", append([]string{"--db=" + nbSock, "--timeout=10"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovn-nbctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// network creates a network on a host and removes it when the test ends.
func network(t *testing.T, host, name string, args ...string) string {
	t.Helper()
	hostSh(host, "docker", "network", "rm", name)
	id := docker(t, host, append(append([]string{"network", "create", "-d", "openvswitch"}, args...), name)...)
	t.Cleanup(func() { hostSh(host, "docker", "network", "rm", name) })
	return id
}

// run starts a detached container that sleeps, removed when the test ends.
func run(t *testing.T, host, name string, args ...string) {
	t.Helper()
	hostSh(host, "docker", "rm", "-f", name)
	docker(t, host, append(append([]string{"run", "-d", "--name", name}, args...), image, "sleep", "3600")...)
	t.Cleanup(func() { hostSh(host, "docker", "rm", "-f", name) })
}

func ipOf(t *testing.T, host, container, network string) string {
	t.Helper()
	return docker(t, host, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, network), container)
}

// ping sends one packet and expects its answer: a first packet lost to a
// chassis not yet ready fails it.
func ping(t *testing.T, host, container, addr string) {
	t.Helper()
	docker(t, host, "exec", container, "ping", "-c", "1", "-W", "2", addr)
}

// tcp checks a TCP exchange from client (on clientHost) to server (on
// serverHost): ping alone proves nothing on the userspace datapath.
func tcp(t *testing.T, clientHost, client, serverHost, server, addr string) {
	t.Helper()
	word := fmt.Sprintf("hello-%d", time.Now().UnixNano())
	docker(t, serverHost, "exec", "-d", server, "sh", "-c", "echo "+word+" | nc -l -p 5000")
	eventually(t, 10*time.Second, "TCP from "+client+" to "+addr, func() error {
		out, err := hostSh(clientHost, "docker", "exec", client, "sh", "-c", "echo ping | nc -w 3 "+addr+" 5000")
		if err != nil {
			return err
		}
		if !strings.Contains(out, word) {
			return fmt.Errorf("got %q, want %q", out, word)
		}
		return nil
	})
}

// eventually retries check until it passes or the limit passes: for
// watching real processes converge.
func eventually(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runScript runs hosts.sh with the given arguments (plugin control).
func runScript(args ...string) (string, error) {
	out, err := exec.Command(hostsScript, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
