package multihost

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// ranges splits a /24 among the hosts for Docker's own IPAM, which each
// engine runs alone: without disjoint ranges two hosts hand out one address.
var ranges = map[string]string{"host1": "64/26", "host2": "128/26", "host3": "192/26"}

// sharedNetwork creates NAME on every host with -o ovn.network=NAME.
func sharedNetwork(t *testing.T, name, prefix string, ourIPAM bool) {
	t.Helper()
	for _, h := range hosts {
		args := []string{"-o", "ovn.network=" + name, "--subnet", prefix + ".0/24"}
		if ourIPAM {
			args = append(args, "--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network="+name)
		} else {
			// Docker's IPAM would take each host's gateway from its
			// range: every host must name the same one.
			args = append(args, "--ip-range", prefix+"."+ranges[h], "--gateway", prefix+".1")
		}
		network(t, h, name, args...)
	}
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name="+name); got != name {
		t.Fatalf("logical switches named %s: %q, want exactly one", name, got)
	}
}

// allTalk: a container on each host reaches the one on every other host,
// ICMP and TCP, both ways.
func allTalk(t *testing.T, net string, containers map[string]string) {
	t.Helper()
	for ha, a := range containers {
		for hb, b := range containers {
			if ha == hb {
				continue
			}
			ip := ipOf(t, hb, b, net)
			ping(t, ha, a, ip)
			tcp(t, ha, a, hb, b, ip)
		}
	}
}

func TestSharedNetworkWithDockersIPAM(t *testing.T) {
	sharedNetwork(t, "shared-d", "10.160.0", false)
	c := map[string]string{}
	for _, h := range hosts {
		c[h] = "sd-" + h
		run(t, h, c[h], "--net", "shared-d")
	}
	allTalk(t, "shared-d", c)
}

func TestSharedNetworkWithOurIPAM(t *testing.T) {
	sharedNetwork(t, "shared-o", "10.161.0", true)
	// 20 containers started at once across the hosts get unique addresses.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		h, name := hosts[i%len(hosts)], fmt.Sprintf("so-%d", i)
		hostSh(h, "docker", "rm", "-f", name)
		t.Cleanup(func() { hostSh(h, "docker", "rm", "-f", name) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := hostSh(h, "docker", "run", "-d", "--name", name, "--net", "shared-o", image, "sleep", "3600"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]string{}
	for i := 0; i < 20; i++ {
		h, name := hosts[i%len(hosts)], fmt.Sprintf("so-%d", i)
		ip := ipOf(t, h, name, "shared-o")
		if other, dup := seen[ip]; dup {
			t.Errorf("%s has %s, like %s", name, ip, other)
		}
		seen[ip] = name
	}
	allTalk(t, "shared-o", map[string]string{"host1": "so-0", "host2": "so-1", "host3": "so-2"})
}

// Removing the network's containers and the network on one host leaves the
// others talking; once every host has removed it, nothing is left in NB.
func TestSharedNetworkRemovedHostByHost(t *testing.T) {
	sharedNetwork(t, "shared-r", "10.162.0", true)
	c := map[string]string{}
	for _, h := range hosts {
		c[h] = "sr-" + h
		run(t, h, c[h], "--net", "shared-r")
	}
	docker(t, "host1", "rm", "-f", c["host1"])
	docker(t, "host1", "network", "rm", "shared-r")
	delete(c, "host1")
	allTalk(t, "shared-r", c)
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name=shared-r"); got != "shared-r" {
		t.Fatalf("the switch went with host1's network: %q", got)
	}
	for _, h := range []string{"host2", "host3"} {
		docker(t, h, "rm", "-f", c[h])
		docker(t, h, "network", "rm", "shared-r")
	}
	noRows(t, "shared-r", "10.162.0.0/24")
}

// noRows: no switch, port, pool or claim of the network is left in NB.
// Ports are told by their addresses: other tests' ports may remain a while
// (a killed plugin's, until reconciliation's grace period ends).
func noRows(t *testing.T, name, subnet string) {
	t.Helper()
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name="+name); got != "" {
		t.Errorf("switch %s left in NB", name)
	}
	net := strings.TrimSuffix(subnet, "0/24")
	ports := nbctl(t, "--bare", "--columns=name,addresses", "find", "Logical_Switch_Port", `external_ids:"docker:owner"=ovn-docker`)
	for _, p := range strings.Split(ports, "\n\n") {
		if strings.Contains(p, " "+net) {
			t.Errorf("port left in NB: %s", p)
		}
	}
	if got := nbctl(t, "--bare", "--columns=name", "find", "Address_Set", `external_ids:"docker:ipam-subnet"="`+subnet+`"`); got != "" {
		t.Errorf("IPAM rows of %s left in NB: %s", subnet, got)
	}
}

// Two hosts must agree on what NAME is: a different subnet is refused
// with a sentence naming both.
func TestSharedNetworkMismatchIsRefused(t *testing.T) {
	network(t, "host1", "shared-m", "-o", "ovn.network=shared-m", "--subnet", "10.163.0.0/24")
	out, err := hostSh("host2", "docker", "network", "create", "-d", "openvswitch", "-o", "ovn.network=shared-m",
		"--subnet", "10.164.0.0/24", "shared-m")
	if err == nil {
		hostSh("host2", "docker", "network", "rm", "shared-m")
		t.Fatal("a shared network with another subnet was accepted")
	}
	if !strings.Contains(out, "10.163.0.0/24") || !strings.Contains(out, "10.164.0.0/24") || !strings.Contains(out, "shared-m") {
		t.Fatalf("the refusal does not name the difference: %s", out)
	}
}

// host2's plugin killed with -9 and started again breaks nothing on host1
// and host3, and host2 works again after.
func TestSharedNetworkSurvivesAPluginKill(t *testing.T) {
	sharedNetwork(t, "shared-k", "10.165.0", true)
	c := map[string]string{}
	for _, h := range hosts {
		c[h] = "sk-" + h
		run(t, h, c[h], "--net", "shared-k")
	}
	if out, err := runScript("plugin", "host2", "kill"); err != nil {
		t.Fatalf("kill host2's plugin: %v: %s", err, out)
	}
	// Later tests need host2's plugin whatever happens here.
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			runScript("plugin", "host2", "start")
		}
	})
	allTalk(t, "shared-k", map[string]string{"host1": c["host1"], "host3": c["host3"]})
	if out, err := runScript("plugin", "host2", "start"); err != nil {
		t.Fatalf("restart host2's plugin: %v: %s", err, out)
	}
	restarted = true
	run(t, "host2", "sk-host2-after", "--net", "shared-k")
	c["host2"] = "sk-host2-after"
	allTalk(t, "shared-k", c)
}

// The first packet from another host to a container whose docker run just
// returned is delivered: Join waits until every chassis has its flows.
func TestFirstPacketAcrossHosts(t *testing.T) {
	sharedNetwork(t, "shared-f", "10.166.0", true)
	run(t, "host2", "sf-peer", "--net", "shared-f")
	for i := 0; i < 5; i++ {
		name, ip := fmt.Sprintf("sf-%d", i), fmt.Sprintf("10.166.0.%d", 100+i)
		run(t, "host1", name, "--net", "shared-f", "--ip", ip)
		ping(t, "host2", "sf-peer", ip)
	}
}
