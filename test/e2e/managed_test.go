package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// The managed plugin: built from the Dockerfile and plugin.json, created
// and enabled in the local engine by make plugin's script, then used by
// its full name for both roles, then disabled and removed.
func TestManagedPlugin(t *testing.T) {
	const name = "openvswitch"
	cmd := exec.Command("../../packaging/plugin.sh", name)
	cmd.Env = append(cmd.Environ(), "BIN="+plug.bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packaging/plugin.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		sh("docker", "rm", "-f", "managed-a", "managed-b")
		sh("docker", "network", "rm", "managed")
		sh("docker", "plugin", "disable", "-f", name)
		sh("docker", "plugin", "rm", "-f", name)
	})
	if got := docker(t, "plugin", "inspect", "-f", "{{.Enabled}} {{.Config.Interface.Types}}", name); got != "true [docker.networkdriver/1.0 docker.ipamdriver/1.0]" {
		t.Fatalf("plugin inspect: %s", got)
	}
	id := createNetwork(t, "managed", "-d", name+":latest", "--ipam-driver", name+":latest", "--subnet=10.82.0.0/24")
	if got := nbctl(t, "get", "Logical_Switch", switchOf(id), `external_ids:"docker:network-id"`); strings.Trim(got, `"`) != id {
		t.Fatalf("switch of the managed plugin's network: %s", got)
	}
	run(t, "managed-a", "--net=managed")
	run(t, "managed-b", "--net=managed")
	exec_(t, "managed-a", "ping", "-c", "2", "-W", "2", "managed-b")
	tcp(t, "managed-a", "managed-b", "managed-b")
	if claims := strings.Join(poolClaims(t, "10.82.0.0/24"), " "); !strings.Contains(claims, containerIP(t, "managed-b", "managed")) {
		t.Fatalf("the managed plugin's IPAM claims %q", claims)
	}
	docker(t, "rm", "-f", "managed-a", "managed-b")
	docker(t, "network", "rm", "managed")
	docker(t, "plugin", "disable", name)
	docker(t, "plugin", "rm", name)
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name="+switchOf(id)); got != "" {
		t.Fatalf("switch left: %q", got)
	}
}
