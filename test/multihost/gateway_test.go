package multihost

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

// peerSeenOutside connects from a container on host to the outside and
// returns the source address the outside saw.
func peerSeenOutside(t *testing.T, host, container string) string {
	t.Helper()
	seen, err := outside.PeerSeen(5002, func(addr string, port int) (string, error) {
		return hostSh(host, "docker", "exec", container, "sh", "-c", fmt.Sprintf("nc -w 5 %s %d </dev/null", addr, port))
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// activeGateway is the chassis the router's uplink is bound to.
func activeGateway(t *testing.T, router string) string {
	t.Helper()
	out, err := exec.Command("ovn-sbctl", "--db=unix:/var/lib/ovn-hosts/central/ovnsb_db.sock", "--timeout=10",
		"--bare", "--columns=chassis", "find", "Port_Binding", "logical_port=cr-rtoe-"+router).CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-sbctl: %v: %s", err, out)
	}
	uuid := strings.TrimSpace(string(out))
	if uuid == "" {
		return ""
	}
	name, err := exec.Command("ovn-sbctl", "--db=unix:/var/lib/ovn-hosts/central/ovnsb_db.sock", "--timeout=10",
		"--bare", "--columns=name", "list", "Chassis", uuid).CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-sbctl: %v: %s", err, name)
	}
	return strings.TrimSpace(string(name))
}

// A routed network shared by the hosts leaves through the gateway chassis
// (host1, then host2: hosts.sh's outside), translated to the router's
// address; with host1's switch dead, host2 takes over and the way out
// comes back, still under the router's address.
func TestRoutedNetworkLeavesThroughTheGatewayAndFailsOver(t *testing.T) {
	for _, h := range hosts {
		network(t, h, "out-s", "-o", "ovn.network=out-s", "-o", "ovn.router=outr", "--subnet", "10.173.0.0/24",
			"--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network=out-s")
	}
	run(t, "host3", "out-3", "--net", "out-s")
	// host3 sends what leaves only over a tunnel whose BFD session is up;
	// they come up a second or so after its first routed port, and Join
	// waits for them: the first packet gets out.
	if err := bfdUp("host3", 2); err != nil {
		t.Fatalf("docker run returned before host3's BFD sessions were up: %v", err)
	}
	ping(t, "host3", "out-3", "172.30.0.1")
	ext := nbctl(t, "--bare", "--columns=external_ip", "find", "NAT", "logical_ip=10.173.0.0/24")
	if seen := peerSeenOutside(t, "host3", "out-3"); seen != ext || ext == "" {
		t.Fatalf("the outside saw %s; want the router's address %q", seen, ext)
	}
	// Until host2's BFD session with host1 is up, host2 claims the uplink
	// too: the binding settles on host1, the first given.
	eventually(t, 30*time.Second, "host1 holding the gateway", func() error {
		if gw := activeGateway(t, "outr"); gw != "host1" {
			return fmt.Errorf("active gateway chassis %q", gw)
		}
		return nil
	})

	// host1's ovs-vswitchd goes: its datapath and its BFD sessions with it.
	// It comes back when the test ends, after the router went, so that no
	// other test meets BFD sessions still coming up.
	t.Cleanup(func() {
		hostSh("host3", "docker", "rm", "-f", "out-3")
		for _, h := range hosts {
			hostSh(h, "docker", "network", "rm", "out-s")
		}
		if out, err := runScript("up", fmt.Sprint(len(hosts))); err != nil {
			t.Errorf("hosts.sh up after the failover: %v: %s", err, out)
		}
	})
	on(t, "host1", "ovs-appctl", "-t", "ovs-vswitchd", "exit")
	eventually(t, 30*time.Second, "host2 taking over the gateway", func() error {
		if gw := activeGateway(t, "outr"); gw != "host2" {
			return fmt.Errorf("active gateway chassis %q", gw)
		}
		return nil
	})
	eventually(t, 30*time.Second, "the way out coming back", func() error {
		_, err := hostSh("host3", "docker", "exec", "out-3", "ping", "-c", "1", "-W", "1", "172.30.0.1")
		return err
	})
	if seen := peerSeenOutside(t, "host3", "out-3"); seen != ext {
		t.Fatalf("after the failover the outside saw %s; want %s", seen, ext)
	}
}

// bfdUp fails unless host has n BFD sessions up (with gateway chassis).
func bfdUp(host string, n int) error {
	out, err := hostSh(host, "ovs-appctl", "bfd/show")
	if err != nil {
		return err
	}
	if up := strings.Count(out, "Local Session State: up"); up < n {
		return fmt.Errorf("%d of %d up", up, n)
	}
	return nil
}
