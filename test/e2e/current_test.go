package e2e

import (
	"os"
	"strings"
	"testing"
)

// What only current engines (API 1.48 and later) send: these tests run in
// `make test`'s pass against the current engine; against Debian's 20.10,
// which has none of these options, they say so and stop.
// In CI they skip only in the pass that declared Debian's engine
// (DOCKER_ENGINE=debian, as make e2e sets it): anywhere else a 20.10
// answering means the current engine's pass is not testing what it should.
func currentOnly(t *testing.T) {
	t.Helper()
	v := must(t, "docker", "version", "--format", "{{.Server.APIVersion}}")
	if v != "1.41" {
		return
	}
	declared := os.Getenv("DOCKER_ENGINE")
	if os.Getenv("CI") == "true" && declared != "debian" {
		t.Fatalf("Docker API %s (20.10) answers, but DOCKER_ENGINE=%q: this pass must run against the current engine", v, declared)
	}
	t.Skipf("Docker API %s (20.10) has no such option; make test runs this against the current engine too", v)
}

// GwAllocCheck: an --internal network has no gateway, so current engines
// reserve none; any other network keeps Docker's gateway.
func TestGatewayReservation(t *testing.T) {
	currentOnly(t)
	createNetwork(t, "gw-int", "--internal", "--subnet=10.250.0.0/24")
	createNetwork(t, "gw-ext", "--subnet=10.251.0.0/24")
	if gw := docker(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "gw-int"); gw != "" {
		t.Errorf("internal network has gateway %q", gw)
	}
	if gw := docker(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "gw-ext"); gw != "10.251.0.1" {
		t.Errorf("ordinary network has gateway %q, want 10.251.0.1", gw)
	}
	run(t, "gw-a", "--net=gw-int", "--ip=10.250.0.1")
	exec_(t, "gw-a", "ip", "-4", "addr", "show", "eth0")
}

// IPv6-only networks (--ipv4=false --ipv6), with Docker's IPAM and ours.
func TestIPv6OnlyNetworks(t *testing.T) {
	currentOnly(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"v6only-d", []string{"--ipv4=false", "--ipv6", "--subnet=fd00:252::/64"}},
		{"v6only-o", []string{"--ipv4=false", "--ipv6", "--ipam-driver", "openvswitch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			createNetwork(t, tc.name, tc.args...)
			a, b := tc.name+"-a", tc.name+"-b"
			run(t, a, "--net="+tc.name)
			run(t, b, "--net="+tc.name)
			if v4 := containerIP(t, b, tc.name); v4 != "" {
				t.Fatalf("IPv4 address %s on an IPv6-only network", v4)
			}
			v6 := containerIPv6(t, b, tc.name)
			if v6 == "" {
				t.Fatal("no IPv6 address")
			}
			exec_(t, a, "ping", "-6", "-c", "1", "-W", "2", v6)
			tcp(t, a, b, v6)
		})
	}
}

// --network name=N,driver-opt=com.docker.network.endpoint.ifname=X names
// the interface inside the container.
func TestInterfaceName(t *testing.T) {
	currentOnly(t)
	createNetwork(t, "ifn", "--subnet=10.253.0.0/24")
	createNetwork(t, "ifn2", "--subnet=10.254.0.0/24")
	run(t, "ifn-a", "--network", "name=ifn,driver-opt=com.docker.network.endpoint.ifname=foo0")
	if out := exec_(t, "ifn-a", "ip", "-o", "link", "show", "foo0"); !strings.Contains(out, "foo0") {
		t.Fatalf("no foo0: %s", out)
	}
	docker(t, "network", "connect", "--driver-opt", "com.docker.network.endpoint.ifname=bar1", "ifn2", "ifn-a")
	exec_(t, "ifn-a", "ip", "-o", "link", "show", "bar1")
	run(t, "ifn-b", "--net=ifn")
	exec_(t, "ifn-b", "ping", "-c", "1", "-W", "2", containerIP(t, "ifn-a", "ifn"))
	if out, err := sh("docker", "run", "--rm", "--network", "name=ifn,driver-opt=com.docker.network.endpoint.ifname=a/b", image, "true"); err == nil ||
		!strings.Contains(out, "is not a valid Linux interface name") {
		t.Fatalf("a bad interface name: %v %s", err, out)
	}
}

// --network name=N,mac-address=M is what the container gets on N.
func TestPerNetworkMAC(t *testing.T) {
	currentOnly(t)
	createNetwork(t, "pmac", "--subnet=10.249.0.0/24")
	createNetwork(t, "pmac2", "--subnet=10.248.0.0/24")
	run(t, "pmac-a", "--network", "name=pmac,mac-address=02:42:0a:f9:00:99", "--network", "name=pmac2,mac-address=02:42:0a:f8:00:99")
	// Interface numbers depend on docker_gwbridge's: look at every MAC.
	got := exec_(t, "pmac-a", "sh", "-c", "cat /sys/class/net/*/address")
	if !strings.Contains(got, "02:42:0a:f9:00:99") || !strings.Contains(got, "02:42:0a:f8:00:99") {
		t.Fatalf("MACs %q", got)
	}
	run(t, "pmac-b", "--net=pmac")
	exec_(t, "pmac-b", "ping", "-c", "1", "-W", "2", containerIP(t, "pmac-a", "pmac"))
	tcp(t, "pmac-b", "pmac-a", containerIP(t, "pmac-a", "pmac"))
}
