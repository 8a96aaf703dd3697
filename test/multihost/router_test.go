package multihost

import (
	"strings"
	"testing"
)

// A routed network shared by every host and a per-host routed network on
// host2, both on router rr: routing is distributed, so containers on any
// host reach each other across the two networks, both ways, ICMP and TCP;
// the router goes with the last network.
func TestRoutedNetworksAcrossHosts(t *testing.T) {
	for _, h := range hosts {
		network(t, h, "routed-s", "-o", "ovn.network=routed-s", "-o", "ovn.router=rr", "--subnet", "10.170.0.0/24",
			"--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network=routed-s")
	}
	network(t, "host2", "routed-p", "-o", "ovn.router=rr", "--subnet", "10.171.0.0/24")
	run(t, "host1", "rs-host1", "--net", "routed-s")
	run(t, "host3", "rs-host3", "--net", "routed-s")
	run(t, "host2", "rp-host2", "--net", "routed-p")

	if r := docker(t, "host1", "exec", "rs-host1", "ip", "route", "show", "default"); !strings.HasPrefix(r, "default via 10.170.0.1 dev eth0") {
		t.Fatalf("default route: %q", r)
	}
	ping(t, "host1", "rs-host1", "10.170.0.1")
	ping(t, "host2", "rp-host2", "10.171.0.1")
	c := map[string][2]string{"rs-host1": {"host1", "routed-s"}, "rs-host3": {"host3", "routed-s"}, "rp-host2": {"host2", "routed-p"}}
	for a, ha := range c {
		for b, hb := range c {
			if a == b {
				continue
			}
			ip := ipOf(t, hb[0], b, hb[1])
			ping(t, ha[0], a, ip)
			tcp(t, ha[0], a, hb[0], b, ip)
		}
	}
	n := len(strings.Fields(nbctl(t, "--bare", "--columns=ports", "find", "Logical_Router", "name=rr")))
	if nbctl(t, "--bare", "--columns=name", "find", "Logical_Router_Port", "name=rtoe-rr") != "" {
		n-- // its uplink (hosts.sh sets an outside)
	}
	if n != 2 {
		t.Fatalf("router rr has %d ports; want 2 (one per switch, however many hosts share one)", n)
	}

	for name, h := range c {
		docker(t, h[0], "rm", "-f", name)
	}
	for _, h := range hosts {
		docker(t, h, "network", "rm", "routed-s")
	}
	docker(t, "host2", "network", "rm", "routed-p")
	if got := nbctl(t, "--bare", "--columns=name", "list", "Logical_Router"); got != "" {
		t.Fatalf("routers left: %q", got)
	}
	if got := nbctl(t, "--bare", "--columns=name", "list", "Logical_Router_Port"); got != "" {
		t.Fatalf("router ports left: %q", got)
	}
}
