package e2e

import (
	"strings"
	"testing"
)

// Routed networks (-o ovn.router): the gateway is the router's port, so
// Docker gives the container no docker_gwbridge interface; networks on one
// router reach each other, not those on another; an --internal network
// stays off its router; the router goes with its last network.
func TestRoutedNetworks(t *testing.T) {
	createNetwork(t, "rt-a", "--subnet", "10.201.0.0/24", "--ipv6", "--subnet", "fd20:1::/64", "-o", "ovn.router=rt1")
	createNetwork(t, "rt-b", "--ipam-driver", "openvswitch", "--subnet", "10.202.0.0/24", "-o", "ovn.router=rt1")
	createNetwork(t, "rt-c", "--subnet", "10.203.0.0/24", "-o", "ovn.router=rt2")
	internal := createNetwork(t, "rt-i", "--internal", "--subnet", "10.204.0.0/24", "-o", "ovn.router=rt1")
	run(t, "rt-ca", "--net", "rt-a")
	run(t, "rt-cb", "--net", "rt-b")
	run(t, "rt-cc", "--net", "rt-c")

	if links := exec_(t, "rt-ca", "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"); links != "eth0 lo" {
		t.Fatalf("interfaces in a routed network's container: %q; want eth0 and lo (no docker_gwbridge)", links)
	}
	if r := exec_(t, "rt-ca", "ip", "route", "show", "default"); !strings.HasPrefix(r, "default via 10.201.0.1 dev eth0") {
		t.Fatalf("default route: %q", r)
	}
	if r := exec_(t, "rt-ca", "ip", "-6", "route", "show", "default"); !strings.HasPrefix(r, "default via fd20:1::1 dev eth0") {
		t.Fatalf("IPv6 default route: %q", r)
	}
	exec_(t, "rt-ca", "ping", "-c", "1", "-W", "2", "10.201.0.1")
	exec_(t, "rt-ca", "ping", "-c", "1", "-W", "2", "fd20:1::1")
	// Our IPAM chose rt-b's gateway; Docker 20.10 does not show it in
	// network inspect, the container's route does.
	gwB := exec_(t, "rt-cb", "sh", "-c", "ip route | awk '/^default/ {print $3}'")
	if gwB != "10.202.0.1" {
		t.Fatalf("rt-b's gateway from our IPAM: %q", gwB)
	}
	exec_(t, "rt-cb", "ping", "-c", "1", "-W", "2", gwB)

	ipA, ipB, ipC := containerIP(t, "rt-ca", "rt-a"), containerIP(t, "rt-cb", "rt-b"), containerIP(t, "rt-cc", "rt-c")
	exec_(t, "rt-ca", "ping", "-c", "1", "-W", "2", ipB)
	exec_(t, "rt-cb", "ping", "-c", "1", "-W", "2", ipA)
	tcp(t, "rt-ca", "rt-cb", ipB)
	tcp(t, "rt-cb", "rt-ca", ipA)
	// rt2 has no route to rt1's networks: the packet has nowhere to go.
	if out, err := sh("docker", "exec", "rt-ca", "ping", "-c", "1", "-W", "1", ipC); err == nil {
		t.Fatalf("a network on router rt1 reached one on rt2: %s", out)
	}
	if ports := nbctl(t, "--bare", "--columns=name", "find", "Logical_Router_Port", "name=rtos-"+switchOf(internal)); ports != "" {
		t.Fatalf("the --internal network has a router port: %q", ports)
	}
	if n1, n2 := routerPorts(t, "rt1"), routerPorts(t, "rt2"); n1 != 2 || n2 != 1 {
		t.Fatalf("router ports: rt1 %d, rt2 %d; want 2 and 1", n1, n2)
	}

	for _, c := range []string{"rt-ca", "rt-cb", "rt-cc"} {
		docker(t, "rm", "-f", c)
	}
	for _, n := range []string{"rt-a", "rt-b", "rt-c", "rt-i"} {
		docker(t, "network", "rm", n)
	}
	if got := routers(t); got != "" {
		t.Fatalf("left after every routed network went: %q", got)
	}
	if got := nbctl(t, "--bare", "--columns=name", "list", "Logical_Router_Port"); got != "" {
		t.Fatalf("router ports left: %q", got)
	}
}

// routers lists the driver's routers.
func routers(t *testing.T) string {
	t.Helper()
	return nbctl(t, "--bare", "--columns=name", "find", "Logical_Router", `external_ids:"docker:owner"=ovn-docker`)
}

// routerPorts counts a router's networks' ports (not its uplink).
func routerPorts(t *testing.T, name string) int {
	t.Helper()
	n := len(strings.Fields(nbctl(t, "--bare", "--columns=ports", "find", "Logical_Router", "name="+name)))
	if nbctl(t, "--bare", "--columns=name", "find", "Logical_Router_Port", "name=rtoe-"+name) != "" {
		n--
	}
	return n
}
