package multihost

import (
	"fmt"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

// echoUDP answers UDP on port in a container until the test ends.
func echoUDP(t *testing.T, host, container string, port int) {
	t.Helper()
	stop, err := outside.UDPEcho(docker(t, host, "inspect", "-f", "{{.State.Pid}}", container), port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// udpTo sends a datagram from a container to addr:port (an echo) and
// reports whether the answer came.
func udpTo(t *testing.T, host, container, addr string, port int) error {
	t.Helper()
	_, err := outside.AskFrom(docker(t, host, "inspect", "-f", "{{.State.Pid}}", container), addr, port, "x")
	return err
}

// udpPasses waits for a UDP exchange to work: the first datagram may
// find a tunnel not yet up.
func udpPasses(t *testing.T, host, container, addr string, port int) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("UDP from %s to %s:%d", container, addr, port), func() error {
		return udpTo(t, host, container, addr, port)
	})
}

// ICC off on a network shared by two hosts holds across them, both ways;
// each container still reaches the gateway, and a container of another
// network on the router, on a third host, reaches them.
func TestICCOffAcrossHosts(t *testing.T) {
	for _, h := range []string{"host1", "host2"} {
		network(t, h, "icc-s", "-o", "ovn.network=icc-s", "-o", "ovn.router=ricc", "-o", "com.docker.network.bridge.enable_icc=false",
			"--subnet", "10.174.0.0/24", "--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network=icc-s")
	}
	run(t, "host1", "icc-h1", "--net", "icc-s")
	run(t, "host2", "icc-h2", "--net", "icc-s")
	network(t, "host3", "icc-o", "-o", "ovn.router=ricc", "--subnet", "10.175.0.0/24")
	run(t, "host3", "icc-h3", "--net", "icc-o")
	c := map[string]string{"icc-h1": "host1", "icc-h2": "host2"}
	for name, h := range c {
		ping(t, h, name, "10.174.0.1")
		ip := ipOf(t, h, name, "icc-s")
		ping(t, "host3", "icc-h3", ip)
		tcp(t, "host3", "icc-h3", h, name, ip)
		echoUDP(t, h, name, 53)
		udpPasses(t, "host3", "icc-h3", ip, 53)
	}
	for a, ha := range c {
		for b, hb := range c {
			if a == b {
				continue
			}
			ip := ipOf(t, hb, b, "icc-s")
			if out, err := hostSh(ha, "docker", "exec", a, "ping", "-c", "2", "-W", "1", ip); err == nil {
				t.Fatalf("%s reached %s on another host: %s", a, b, out)
			}
			docker(t, hb, "exec", "-d", b, "sh", "-c", "echo hi | nc -l -p 5000")
			if out, err := hostSh(ha, "docker", "exec", a, "sh", "-c", fmt.Sprintf("echo x | nc -w 2 %s 5000", ip)); err == nil {
				t.Fatalf("TCP from %s to %s passed: %q", a, b, out)
			}
			if udpTo(t, ha, a, ip, 53) == nil {
				t.Fatalf("UDP from %s to %s passed", a, b)
			}
		}
	}
}

// ovn.ingress=exposed on a network shared by two hosts: a container on
// the other host reaches the exposed ports only (TCP, UDP), both ways.
func TestExposedPortsOnlyAcrossHosts(t *testing.T) {
	for _, h := range []string{"host1", "host2"} {
		network(t, h, "ex-s", "-o", "ovn.network=ex-s", "-o", "ovn.router=rex", "-o", "ovn.ingress=exposed",
			"--subnet", "10.176.0.0/24", "--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network=ex-s")
	}
	run(t, "host1", "ex-h1", "--net", "ex-s", "--expose", "5000", "--expose", "53/udp")
	run(t, "host2", "ex-h2", "--net", "ex-s", "--expose", "5000")
	ip1 := ipOf(t, "host1", "ex-h1", "ex-s")
	tcp(t, "host2", "ex-h2", "host1", "ex-h1", ip1)
	echoUDP(t, "host1", "ex-h1", 53)
	echoUDP(t, "host1", "ex-h1", 54)
	udpPasses(t, "host2", "ex-h2", ip1, 53)
	if udpTo(t, "host2", "ex-h2", ip1, 54) == nil {
		t.Fatal("UDP to a port not exposed passed across hosts")
	}
	// And the other way: ex-h2 exposes no UDP.
	ip2 := ipOf(t, "host2", "ex-h2", "ex-s")
	echoUDP(t, "host2", "ex-h2", 53)
	if udpTo(t, "host1", "ex-h1", ip2, 53) == nil {
		t.Fatal("UDP to a port not exposed passed across hosts")
	}
	tcp(t, "host1", "ex-h1", "host2", "ex-h2", ip2)
	docker(t, "host1", "exec", "-d", "ex-h1", "sh", "-c", "echo hi | nc -l -p 5001")
	if out, err := hostSh("host2", "docker", "exec", "ex-h2", "sh", "-c", fmt.Sprintf("echo x | nc -w 1 %s 5001", ip1)); err == nil {
		t.Fatalf("TCP to a port not exposed passed across hosts: %q", out)
	}
	if out, err := hostSh("host2", "docker", "exec", "ex-h2", "ping", "-c", "1", "-W", "1", ip1); err == nil {
		t.Fatalf("ping to a container exposing no ICMP passed: %s", out)
	}
	// Its own traffic out gets its answers.
	ping(t, "host1", "ex-h1", "10.176.0.1")
}

// ovn.isolate=true on a network shared by two hosts: its containers reach
// each other across the hosts and the outside, but no container of the
// router's other networks, on a third host or on one of its own, reaches
// them or is reached, both ways; between those others the router routes.
func TestIsolateAcrossHosts(t *testing.T) {
	for _, h := range []string{"host1", "host2"} {
		network(t, h, "iso-s", "-o", "ovn.network=iso-s", "-o", "ovn.router=riso", "-o", "ovn.isolate=true",
			"--subnet", "10.177.0.0/24", "--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network=iso-s")
	}
	network(t, "host3", "iso-o", "-o", "ovn.router=riso", "--subnet", "10.178.0.0/24")
	network(t, "host2", "iso-p", "-o", "ovn.router=riso", "--subnet", "10.179.0.0/24")
	run(t, "host1", "is-1", "--net", "iso-s")
	run(t, "host2", "is-2", "--net", "iso-s")
	run(t, "host3", "is-3", "--net", "iso-o")
	run(t, "host2", "is-4", "--net", "iso-p")
	type ctr struct{ host, name, ip string }
	c1, c2 := ctr{"host1", "is-1", ipOf(t, "host1", "is-1", "iso-s")}, ctr{"host2", "is-2", ipOf(t, "host2", "is-2", "iso-s")}
	c3, c4 := ctr{"host3", "is-3", ipOf(t, "host3", "is-3", "iso-o")}, ctr{"host2", "is-4", ipOf(t, "host2", "is-4", "iso-p")}
	for _, c := range []ctr{c1, c2, c3, c4} {
		echoUDP(t, c.host, c.name, 53)
	}
	for _, p := range [][2]ctr{{c1, c2}, {c2, c1}, {c3, c4}, {c4, c3}} {
		ping(t, p[0].host, p[0].name, p[1].ip)
		tcp(t, p[0].host, p[0].name, p[1].host, p[1].name, p[1].ip)
		udpPasses(t, p[0].host, p[0].name, p[1].ip, 53)
	}
	for _, p := range [][2]ctr{{c1, c3}, {c3, c1}, {c2, c3}, {c3, c2}, {c2, c4}, {c4, c2}} {
		from, to := p[0], p[1]
		if out, err := hostSh(from.host, "docker", "exec", from.name, "ping", "-c", "1", "-W", "1", to.ip); err == nil {
			t.Fatalf("%s on %s reached %s on %s: %s", from.name, from.host, to.name, to.host, out)
		}
		docker(t, to.host, "exec", "-d", to.name, "sh", "-c", "echo hi | nc -l -p 5001")
		if out, err := hostSh(from.host, "docker", "exec", from.name, "sh", "-c", "echo x | nc -w 1 "+to.ip+" 5001"); err == nil {
			t.Fatalf("TCP from %s on %s to %s on %s passed: %q", from.name, from.host, to.name, to.host, out)
		}
		if udpTo(t, from.host, from.name, to.ip, 53) == nil {
			t.Fatalf("UDP from %s on %s to %s on %s passed", from.name, from.host, to.name, to.host)
		}
	}
	ext := nbctl(t, "--bare", "--columns=external_ip", "find", "NAT", "logical_ip=10.177.0.0/24")
	for _, c := range []ctr{c1, c2} {
		if seen := peerSeenOutside(t, c.host, c.name); seen != ext || ext == "" {
			t.Fatalf("the outside saw %s as %s; want the router's address %q", c.name, seen, ext)
		}
	}
}
