package multihost

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

// resolvesTo waits until name resolves to want in container on host
// (want "": until it no longer resolves).
func resolvesTo(t *testing.T, host, container, name, want string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%s on %s resolving %s", container, host, name), func() error {
		ips, err := resolve(host, container, name)
		switch {
		case want == "" && err == nil && len(ips) > 0:
			return fmt.Errorf("still resolves to %v", ips)
		case want == "":
			return nil
		case err != nil:
			return err
		case !slices.Equal(ips, []string{want}):
			return fmt.Errorf("resolves to %v, want %s", ips, want)
		}
		return nil
	})
}

// On a routed network shared by the hosts, containers resolve containers
// of other hosts by name and --network-alias, both ways, and talk to them
// by name (TCP too, whose resolver asks AAAA as well); the names go with
// the containers. The containers' DNS server is the outside's, as a real
// one would be reachable through the router (docs/multihost.md#names).
func TestNamesAcrossHosts(t *testing.T) {
	stop, err := outside.DNS()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, h := range hosts {
		network(t, h, "names-s", "-o", "ovn.network=names-s", "-o", "ovn.router=rn", "--subnet", "10.172.0.0/24",
			"--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network=names-s")
	}
	run(t, "host1", "nm-a", "--net", "names-s", "--network-alias", "api", "--dns", outside.NextHop)
	run(t, "host3", "nm-b", "--net", "names-s", "--dns", outside.NextHop)
	a, b := ipOf(t, "host1", "nm-a", "names-s"), ipOf(t, "host3", "nm-b", "names-s")
	resolvesTo(t, "host3", "nm-b", "nm-a", a)
	resolvesTo(t, "host3", "nm-b", "api", a)
	resolvesTo(t, "host1", "nm-a", "nm-b", b)
	ping(t, "host3", "nm-b", "nm-a")
	tcp(t, "host3", "nm-b", "host1", "nm-a", "api")
	tcp(t, "host1", "nm-a", "host3", "nm-b", "nm-b")
	if rows := strings.Fields(nbctl(t, "--bare", "--columns=_uuid", "list", "DNS")); len(rows) != 2 {
		t.Fatalf("DNS rows %v; want one per container", rows)
	}

	docker(t, "host1", "rm", "-f", "nm-a")
	resolvesTo(t, "host3", "nm-b", "nm-a", "")
	resolvesTo(t, "host3", "nm-b", "api", "")
	docker(t, "host3", "rm", "-f", "nm-b")
	eventually(t, 30*time.Second, "DNS rows removed", func() error {
		if rows, _ := nbctlErr("--bare", "--columns=_uuid", "list", "DNS"); rows != "" {
			return fmt.Errorf("DNS rows left: %q", rows)
		}
		return nil
	})
}

// A port published by a container on a host that is no gateway chassis
// answers from the outside, through the gateway's uplink.
func TestPublishedPortAcrossHosts(t *testing.T) {
	network(t, "host3", "pub-3", "-o", "ovn.router=rpub", "--subnet", "10.173.0.0/24")
	hostSh("host3", "docker", "rm", "-f", "pub-web")
	docker(t, "host3", "run", "-d", "--name", "pub-web", "--net", "pub-3", "-p", "8090:80", image,
		"sh", "-c", "while true; do echo web3 | nc -l -p 80; done")
	t.Cleanup(func() { hostSh("host3", "docker", "rm", "-f", "pub-web") })
	ext := nbctl(t, "--bare", "--columns=external_ip", "find", "NAT", "logical_ip=10.173.0.0/24")
	var got string
	eventually(t, 30*time.Second, "TCP from the outside to "+ext+":8090", func() (err error) {
		got, err = outside.Read(ext, 8090)
		return err
	})
	if got != "web3" {
		t.Fatalf("%s:8090 answered %q", ext, got)
	}
	docker(t, "host3", "rm", "-f", "pub-web")
	if lbs := nbctl(t, "--bare", "--columns=_uuid", "list", "Load_Balancer"); lbs != "" {
		t.Fatalf("load balancers left: %q", lbs)
	}
}
