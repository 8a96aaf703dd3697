package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

// setOutside tells OVN about it, as an operator would, with this host as
// the gateway chassis; it is removed again when the test ends.
func setOutside(t *testing.T) {
	t.Helper()
	sid := strings.Trim(vsctl(t, "get", "open", ".", "external-ids:system-id"), `"`)
	must(t, plug.bin, "gateway", "set", "--subnet", "172.30.0.0/24", "--next-hop", "172.30.0.1",
		"--range", "172.30.0.16/28", "--chassis", sid, "--physnet", "physnet")
	t.Cleanup(func() {
		if out, err := sh(plug.bin, "gateway", "unset"); err != nil {
			t.Errorf("gateway unset: %v: %s", err, out)
		}
	})
}

// peerSeenOutside connects from the container to the outside and returns
// the source address the outside saw.
func peerSeenOutside(t *testing.T, container string) string {
	t.Helper()
	seen, err := outside.PeerSeen(5001, func(addr string, port int) (string, error) {
		return sh("docker", "exec", container, "sh", "-c", fmt.Sprintf("nc -w 5 %s %d </dev/null", addr, port))
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// A routed network reaches the outside through the router's uplink, which
// translates its addresses to the router's own there (the NAT row's
// external_ip), whether the router was made before the outside was set
// or after; all of it goes with the network.
func TestRoutedNetworkReachesTheOutside(t *testing.T) {
	// Made before the outside is set: gateway set gives its router the
	// uplink it could not get then.
	createNetwork(t, "ns-a", "--subnet", "10.205.0.0/24", "-o", "ovn.router=ns1")
	run(t, "ns-ca", "--net", "ns-a")
	setOutside(t)
	exec_(t, "ns-ca", "ping", "-c", "1", "-W", "2", "172.30.0.1")
	ext := nbctl(t, "--bare", "--columns=external_ip", "find", "NAT", "logical_ip=10.205.0.0/24")
	if ext != "172.30.0.16" {
		t.Fatalf("SNAT address %q; want the first of the external range", ext)
	}
	if seen := peerSeenOutside(t, "ns-ca"); seen != ext {
		t.Fatalf("the outside saw %s; want the router's address %s", seen, ext)
	}
	// A second network on the router goes out the same way.
	createNetwork(t, "ns-b", "--subnet", "10.206.0.0/24", "-o", "ovn.router=ns1")
	run(t, "ns-cb", "--net", "ns-b")
	if seen := peerSeenOutside(t, "ns-cb"); seen != ext {
		t.Fatalf("the outside saw %s from the second network; want %s", seen, ext)
	}
	// --internal stays internal, even named on the router.
	createNetwork(t, "ns-i", "--internal", "--subnet", "10.207.0.0/24", "-o", "ovn.router=ns1")
	run(t, "ns-ci", "--net", "ns-i")
	if out, err := sh("docker", "exec", "ns-ci", "ping", "-c", "1", "-W", "1", "172.30.0.1"); err == nil {
		t.Fatalf("an --internal network reached the outside: %s", out)
	}

	for _, c := range []string{"ns-ca", "ns-cb", "ns-ci"} {
		docker(t, "rm", "-f", c)
	}
	for _, n := range []string{"ns-a", "ns-b", "ns-i"} {
		docker(t, "network", "rm", n)
	}
	for _, table := range []string{"Logical_Router", "NAT", "Logical_Router_Static_Route", "Gateway_Chassis", "Logical_Router_Port"} {
		if got := nbctl(t, "--bare", "--columns=_uuid", "list", table); got != "" {
			t.Errorf("%s left: %q", table, got)
		}
	}
}
