package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// sh runs a command and returns its trimmed output and error.
func sh(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, s)
	}
	return s, nil
}

func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := sh(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func docker(t *testing.T, args ...string) string { t.Helper(); return must(t, "docker", args...) }
func nbctl(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, "ovn-nbctl", append([]string{"--timeout=10"}, args...)...)
}
func vsctl(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, "ovs-vsctl", append([]string{"--timeout=10"}, args...)...)
}

// createNetwork makes a network and removes it when the test ends.
func createNetwork(t *testing.T, name string, args ...string) string {
	t.Helper()
	sh("docker", "network", "rm", name)
	driver := []string{"-d", "openvswitch"}
	if len(args) > 1 && args[0] == "-d" {
		driver, args = args[:2], args[2:]
	}
	id := docker(t, append(append([]string{"network", "create"}, driver...), append(args, name)...)...)
	t.Cleanup(func() { sh("docker", "network", "rm", name) })
	return id
}

// run starts a detached container that sleeps, removed when the test ends.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	sh("docker", "rm", "-f", name)
	docker(t, append(append([]string{"run", "-d", "--name", name}, args...), image, "sleep", "3600")...)
	t.Cleanup(func() { sh("docker", "rm", "-f", name) })
}

func endpointID(t *testing.T, container, network string) string {
	t.Helper()
	return docker(t, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).EndpointID}}`, network), container)
}

func containerIP(t *testing.T, container, network string) string {
	t.Helper()
	return docker(t, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, network), container)
}

func containerIPv6(t *testing.T, container, network string) string {
	t.Helper()
	return docker(t, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).GlobalIPv6Address}}`, network), container)
}

func exec_(t *testing.T, container string, cmd ...string) string {
	t.Helper()
	return docker(t, append([]string{"exec", container}, cmd...)...)
}

// switchOf returns the logical switch name of a Docker network ID.
func switchOf(networkID string) string { return "docker-" + networkID[:12] }

// driverSwitches lists the names of driver-owned logical switches of
// Docker networks (not the outside's, which plugin.sh start sets).
func driverSwitches(t *testing.T) string {
	return nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", `external_ids:"docker:owner"=ovn-docker`, "name!=docker-external")
}

// eventually retries check until it passes or the limit passes.
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
		time.Sleep(100 * time.Millisecond)
	}
}
