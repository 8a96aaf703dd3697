package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Docker removes a network without a word to the plugin while it is
// stopped. Once the plugin is back, reconciliation reads Docker's network
// list and removes the switch and the pool, so the same subnet can be used
// again.
func TestNetworkRemovedWhilePluginStopped(t *testing.T) {
	id := ipamNetwork(t, "forgot", "--subnet=10.240.0.0/24")
	plug.stop()
	docker(t, "network", "rm", "forgot")
	restartPlugin(t, nil, fast...)
	eventually(t, 30*time.Second, "switch and pool of the forgotten network removed", func() error {
		return noTrace(id, "10.240.0.0/24")
	})
	ipamNetwork(t, "forgot", "--subnet=10.240.0.0/24")
}

// The same when DeleteNetwork and ReleasePool fail because NB does not
// answer: Docker logs the failures and forgets the network.
func TestNetworkRemovedWhileNBFrozen(t *testing.T) {
	restartPlugin(t, nil, append([]string{"--ovn-timeout", "2s"}, fast...)...)
	id := ipamNetwork(t, "forgot2", "--subnet=10.241.0.0/24")
	pid := freezeNB(t)
	docker(t, "network", "rm", "forgot2")
	thawNB(pid)
	eventually(t, 30*time.Second, "switch and pool of the network removed during the outage", func() error {
		return noTrace(id, "10.241.0.0/24")
	})
	ipamNetwork(t, "forgot2", "--subnet=10.241.0.0/24")
}

// noTrace: no switch of the network and no pool or claim of the subnet in NB.
func noTrace(networkID, subnet string) error {
	if sw, _ := sh("ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch", "name="+switchOf(networkID)); sw != "" {
		return fmt.Errorf("switch %s still there", sw)
	}
	if p, _ := sh("ovn-nbctl", "--bare", "--columns=name", "find", "Address_Set", `external_ids:"docker:ipam-subnet"="`+subnet+`"`); p != "" {
		return fmt.Errorf("pool %s still there", p)
	}
	return nil
}

func freezeNB(t *testing.T) string {
	t.Helper()
	pid := strings.TrimSpace(must(t, "cat", "/var/run/ovn/ovnnb_db.pid"))
	t.Cleanup(func() { thawNB(pid) })
	must(t, "kill", "-STOP", pid)
	return pid
}

func thawNB(pid string) { sh("kill", "-CONT", pid) }

// A container restarted, stopped and started, or reconnected with the same
// address gets a new endpoint; its MAC follows the address, so its peers
// reach it at once (Docker 20.10 sends no gratuitous ARP, and a new random
// MAC left peers' ARP caches pointing nowhere for up to a minute).
func TestRestartedContainerAnswersAtOnce(t *testing.T) {
	createNetwork(t, "rs", "--subnet=10.242.0.0/24")
	run(t, "rs-a", "--net=rs", "--ip=10.242.0.10")
	run(t, "rs-b", "--net=rs")
	peer := func(step string) {
		t.Helper()
		// One packet, right away: a stale ARP entry would lose it.
		if _, err := sh("docker", "exec", "rs-b", "ping", "-c", "1", "-W", "2", "10.242.0.10"); err != nil {
			t.Fatalf("after %s the peer did not answer at once: %v", step, err)
		}
		tcp(t, "rs-b", "rs-a", "10.242.0.10")
	}
	peer("start")
	mac := docker(t, "exec", "rs-a", "cat", "/sys/class/net/eth0/address")
	if mac != "0a:58:0a:f2:00:0a" {
		t.Fatalf("MAC %s does not follow the address 10.242.0.10", mac)
	}
	docker(t, "restart", "-t", "1", "rs-a")
	peer("docker restart")
	docker(t, "stop", "-t", "1", "rs-a")
	docker(t, "start", "rs-a")
	peer("docker stop and start")
	docker(t, "network", "disconnect", "rs", "rs-a")
	docker(t, "network", "connect", "--ip=10.242.0.10", "rs", "rs-a")
	peer("docker network disconnect and connect")
}
