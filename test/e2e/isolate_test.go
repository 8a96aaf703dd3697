package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

// probe is one attempt to reach something: nil when it got through.
type probe struct {
	what string
	try  func() error
}

// blocked are ICMP, TCP (to a listener on 5000) and UDP (to an echo on
// 53) from one container to addr.
func blocked(t *testing.T, from, addr string) []probe {
	t.Helper()
	pid, to := pidOf(t, from), " from "+from+" to "+addr
	return []probe{
		{"ICMP" + to, func() error {
			_, err := sh("docker", "exec", from, "ping", "-c", "1", "-W", "1", addr)
			return err
		}},
		{"TCP" + to, func() error { return tcpTo(from, addr, 5000) }},
		{"UDP" + to, func() error {
			_, err := outside.AskFrom(pid, addr, 53, "x")
			return err
		}},
	}
}

// allFail tries every probe at once (each waits out its timeout) and
// fails the test naming those that got through.
func allFail(t *testing.T, probes []probe) {
	t.Helper()
	errs := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.try() }()
	}
	wg.Wait()
	for i, p := range probes {
		if errs[i] == nil {
			t.Errorf("%s got through", p.what)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// An isolated routed network (ovn.isolate=true) reaches the outside, is
// reached from it by a published port, and its containers reach each
// other; no other network on its router reaches it or is reached by it
// (ICMP, TCP, UDP, IPv4 and IPv6), while the
// router still routes between the others. A plugin restart changes
// nothing; its policies go with it; bad values are refused.
func TestIsolatedNetworks(t *testing.T) {
	setOutside(t)
	createNetwork(t, "iso-a", "--subnet", "10.216.0.0/24", "--ipv6", "--subnet", "fd21:16::/64",
		"-o", "ovn.router=isor", "-o", "ovn.isolate=true")
	createNetwork(t, "iso-b", "--subnet", "10.217.0.0/24", "--ipv6", "--subnet", "fd21:17::/64", "-o", "ovn.router=isor")
	createNetwork(t, "iso-c", "--subnet", "10.218.0.0/24", "--ipv6", "--subnet", "fd21:18::/64", "-o", "ovn.router=isor")
	run(t, "iso-1", "--net", "iso-a", "-p", "8090:5000")
	run(t, "iso-2", "--net", "iso-a")
	run(t, "iso-3", "--net", "iso-b")
	run(t, "iso-4", "--net", "iso-c")
	ip := map[string]string{}
	for c, n := range map[string]string{"iso-1": "iso-a", "iso-2": "iso-a", "iso-3": "iso-b", "iso-4": "iso-c"} {
		listen(t, c, 5000)
		stop, err := outside.UDPEcho(pidOf(t, c), 53)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		ip[c], ip[c+"/6"] = containerIP(t, c, n), containerIPv6(t, c, n)
	}
	ext := nbctl(t, "--bare", "--columns=external_ip", "find", "NAT", "logical_ip=10.216.0.0/24")
	check := func() {
		t.Helper()
		// Within the network, and between the others, all passes.
		for _, p := range [][2]string{{"iso-2", "iso-1"}, {"iso-3", "iso-4"}, {"iso-4", "iso-3"}} {
			eventually(t, 10*time.Second, "TCP from "+p[0]+" to "+p[1], func() error { return tcpTo(p[0], ip[p[1]], 5000) })
			exec_(t, p[0], "ping", "-c", "1", "-W", "2", ip[p[1]])
			exec_(t, p[0], "ping", "-c", "1", "-W", "2", ip[p[1]+"/6"])
		}
		var probes []probe
		for _, p := range [][2]string{{"iso-1", "iso-3"}, {"iso-3", "iso-1"}, {"iso-2", "iso-4"}, {"iso-4", "iso-2"}} {
			probes = append(append(probes, blocked(t, p[0], ip[p[1]])...), blocked(t, p[0], ip[p[1]+"/6"])[0])
		}
		allFail(t, probes)
		// Out by TCP (docs/design.md#the-outside-ovn-docker-gateway-set).
		if seen := peerSeenOutside(t, "iso-1"); seen != ext {
			t.Fatalf("the outside saw iso-1 as %s, not %s", seen, ext)
		}
		if got := readFromOutside(t, ext, 8090); got != "hi" {
			t.Fatalf("%s:8090 answered %q", ext, got)
		}
	}
	check()
	if out := must(t, plug.bin, "status"); !strings.Contains(out, "(router isor) (isolate=true)") {
		t.Fatalf("status:\n%s", out)
	}
	restartPlugin(t, nil)
	check()

	for arg, want := range map[string]string{
		"ovn.isolate=maybe": `ovn.isolate="maybe" is not a boolean`,
		"ovn.isolate=true":  "ovn.isolate=true isolates a network from the others on its router, and the network has none",
	} {
		out, err := sh("docker", "network", "create", "-d", "openvswitch", "--subnet", "10.219.0.0/24", "-o", arg, "iso-bad")
		if err == nil || !strings.Contains(out, want) {
			sh("docker", "network", "rm", "iso-bad")
			t.Fatalf("-o %s: %v: %s", arg, err, out)
		}
	}
	for _, c := range []string{"iso-1", "iso-2"} {
		docker(t, "rm", "-f", c)
	}
	docker(t, "network", "rm", "iso-a")
	if got := nbctl(t, "--bare", "--columns=_uuid", "list", "Logical_Router_Policy"); got != "" {
		t.Fatalf("policies left: %q", got)
	}
	eventually(t, 10*time.Second, "TCP from iso-3 to iso-4 after iso-a went", func() error { return tcpTo("iso-3", ip["iso-4"], 5000) })
}
