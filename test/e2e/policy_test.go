package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

func pidOf(t *testing.T, container string) string {
	t.Helper()
	return docker(t, "inspect", "-f", "{{.State.Pid}}", container)
}

// tcpTo reports whether a TCP exchange from client to addr:port works; a
// listener answering "hi" must be running there.
func tcpTo(client, addr string, port int) error {
	out, err := sh("docker", "exec", client, "sh", "-c", fmt.Sprintf("echo ping | nc -w 1 %s %d", addr, port))
	if err == nil && out != "hi" {
		err = fmt.Errorf("answered %q", out)
	}
	return err
}

// listen starts a TCP listener answering "hi" on port, for each connection.
func listen(t *testing.T, container string, port int) {
	t.Helper()
	exec_(t, container, "sh", "-c", fmt.Sprintf("(while true; do echo hi | nc -l -p %d >/dev/null; done) &", port))
}

// noPing fails the test if container reaches addr with ICMP.
func noPing(t *testing.T, container, addr string) {
	t.Helper()
	if out, err := sh("docker", "exec", container, "ping", "-c", "1", "-W", "1", addr); err == nil {
		t.Fatalf("%s reached %s: %s", container, addr, out)
	}
}

// With ICC off, containers of the network reach no one of it (ICMP, TCP,
// UDP, both ways) but reach their gateway, the outside and containers of
// other networks, which reach them; a plugin restart changes nothing; the
// policy goes with the network.
func TestICCOff(t *testing.T) {
	setOutside(t)
	createNetwork(t, "icc-a", "--subnet", "10.211.0.0/24", "-o", "ovn.router=iccr", "-o", "com.docker.network.bridge.enable_icc=false")
	createNetwork(t, "icc-b", "--subnet", "10.213.0.0/24", "-o", "ovn.router=iccr")
	run(t, "icc-1", "--net", "icc-a")
	run(t, "icc-2", "--net", "icc-a")
	run(t, "icc-3", "--net", "icc-b")
	ip1, ip2 := containerIP(t, "icc-1", "icc-a"), containerIP(t, "icc-2", "icc-a")
	for _, c := range []string{"icc-1", "icc-2"} {
		listen(t, c, 5000)
	}
	stop, err := outside.UDPEcho(pidOf(t, "icc-2"), 53)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	check := func() {
		t.Helper()
		// The listeners answer, from another network.
		eventually(t, 10*time.Second, "TCP from icc-3 to icc-2", func() error { return tcpTo("icc-3", ip2, 5000) })
		if got, err := outside.AskFrom(pidOf(t, "icc-3"), ip2, 53, "x"); err != nil || !strings.HasPrefix(got, "echo:x") {
			t.Fatalf("UDP from icc-3 to icc-2: %q %v", got, err)
		}
		noPing(t, "icc-1", ip2)
		noPing(t, "icc-2", ip1)
		for _, c := range [][3]string{{"icc-1", ip2}, {"icc-2", ip1}} {
			if err := tcpTo(c[0], c[1], 5000); err == nil {
				t.Fatalf("TCP from %s to %s passed", c[0], c[1])
			}
		}
		if got, err := outside.AskFrom(pidOf(t, "icc-1"), ip2, 53, "x"); err == nil {
			t.Fatalf("UDP from icc-1 to icc-2 answered %q", got)
		}
		// Out by TCP: ICMP echoes of two containers behind one SNAT
		// address are dropped now and then on the userspace datapath
		// (docs/design.md#the-outside-ovn-docker-gateway-set).
		for _, c := range []string{"icc-1", "icc-2"} {
			exec_(t, c, "ping", "-c", "1", "-W", "2", "10.211.0.1")
			peerSeenOutside(t, c)
		}
		exec_(t, "icc-1", "ping", "-c", "1", "-W", "2", containerIP(t, "icc-3", "icc-b"))
	}
	check()
	if out := must(t, plug.bin, "status"); !strings.Contains(out, "10.211.0.0/24 (router iccr) (icc=false)") {
		t.Fatalf("status:\n%s", out)
	}
	restartPlugin(t, nil)
	check()

	for _, c := range []string{"icc-1", "icc-2", "icc-3"} {
		docker(t, "rm", "-f", c)
	}
	docker(t, "network", "rm", "icc-a")
	for _, table := range []string{"Port_Group", "ACL"} {
		if got := nbctl(t, "--bare", "--columns=_uuid", "list", table); got != "" {
			t.Fatalf("%s left: %q", table, got)
		}
	}
}

// A container that takes another MAC or address (as root, with
// NET_ADMIN) can neither send nor receive as it: OVN's port security
// holds it to what Docker gave it. --ip still works, and so does a MAC
// given per network (current engines; the current CLI cannot give 20.10
// a MAC on a network of its choice).
func TestSpoofingIsBlocked(t *testing.T) {
	createNetwork(t, "ps-a", "--subnet", "10.212.0.0/24")
	run(t, "ps-1", "--net", "ps-a", "--cap-add", "NET_ADMIN")
	net := []string{"--net", "ps-a", "--ip", "10.212.0.77"}
	if api := must(t, "docker", "version", "--format", "{{.Server.APIVersion}}"); api != "1.41" {
		net = []string{"--network", "name=ps-a,ip=10.212.0.77,mac-address=02:42:0a:d4:00:77"}
	}
	run(t, "ps-2", net...)
	if mac := exec_(t, "ps-2", "cat", "/sys/class/net/eth0/address"); len(net) == 2 && mac != "02:42:0a:d4:00:77" {
		t.Fatalf("ps-2 has MAC %s, not the one given", mac)
	}
	ip1 := containerIP(t, "ps-1", "ps-a")
	exec_(t, "ps-1", "ping", "-c", "1", "-W", "2", "10.212.0.77")
	listen(t, "ps-2", 5000)
	eventually(t, 10*time.Second, "TCP from ps-1 to ps-2", func() error { return tcpTo("ps-1", "10.212.0.77", 5000) })

	mac := exec_(t, "ps-1", "cat", "/sys/class/net/eth0/address")
	exec_(t, "ps-1", "ip", "link", "set", "eth0", "address", "02:42:0a:d4:00:99")
	exec_(t, "ps-1", "ip", "neigh", "flush", "dev", "eth0")
	noPing(t, "ps-1", "10.212.0.77")
	if err := tcpTo("ps-1", "10.212.0.77", 5000); err == nil {
		t.Fatal("TCP passed from a changed MAC")
	}
	exec_(t, "ps-1", "ip", "link", "set", "eth0", "address", mac)
	exec_(t, "ps-1", "ping", "-c", "1", "-W", "2", "10.212.0.77")

	exec_(t, "ps-1", "ip", "addr", "add", "10.212.0.99/24", "dev", "eth0")
	noPing(t, "ps-2", "10.212.0.99")
	if out, err := sh("docker", "exec", "ps-1", "ping", "-c", "1", "-W", "1", "-I", "10.212.0.99", "10.212.0.77"); err == nil {
		t.Fatalf("ping from an address taken by hand passed: %s", out)
	}
	listen(t, "ps-1", 5001)
	if err := tcpTo("ps-2", "10.212.0.99", 5001); err == nil {
		t.Fatal("TCP to an address taken by hand passed")
	}
	// Its own address still works, both ways.
	exec_(t, "ps-2", "ping", "-c", "1", "-W", "2", ip1)
	eventually(t, 10*time.Second, "TCP from ps-2 to ps-1", func() error { return tcpTo("ps-2", ip1, 5001) })
}

// With ovn.ingress=exposed a container accepts connections only on the
// ports it exposes, from its own network and from routed ones; its own
// connections out get their replies; a plugin restart changes nothing.
func TestExposedPortsOnly(t *testing.T) {
	setOutside(t)
	createNetwork(t, "ex-a", "--subnet", "10.214.0.0/24", "-o", "ovn.router=exr", "-o", "ovn.ingress=exposed")
	createNetwork(t, "ex-b", "--subnet", "10.215.0.0/24", "-o", "ovn.router=exr")
	run(t, "ex-web", "--net", "ex-a", "--expose", "5000", "--expose", "53/udp")
	run(t, "ex-cli", "--net", "ex-a")
	run(t, "ex-other", "--net", "ex-b")
	web := containerIP(t, "ex-web", "ex-a")
	listen(t, "ex-web", 5000)
	listen(t, "ex-web", 5001)
	stop, err := outside.UDPEcho(pidOf(t, "ex-web"), 53)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	check := func() {
		t.Helper()
		for _, c := range []string{"ex-cli", "ex-other"} {
			eventually(t, 10*time.Second, "TCP from "+c+" to the exposed port", func() error { return tcpTo(c, web, 5000) })
			if got, err := outside.AskFrom(pidOf(t, c), web, 53, "x"); err != nil || !strings.HasPrefix(got, "echo:x") {
				t.Fatalf("UDP from %s to the exposed port: %q %v", c, got, err)
			}
			if err := tcpTo(c, web, 5001); err == nil {
				t.Fatalf("TCP from %s to a port not exposed passed", c)
			}
			noPing(t, c, web)
		}
		// What it starts itself gets its answers.
		exec_(t, "ex-web", "ping", "-c", "1", "-W", "2", "10.214.0.1")
		exec_(t, "ex-web", "ping", "-c", "1", "-W", "2", containerIP(t, "ex-other", "ex-b"))
		peerSeenOutside(t, "ex-web")
	}
	check()
	if out := must(t, plug.bin, "status"); !strings.Contains(out, "10.214.0.0/24 (router exr) (ingress=exposed)") {
		t.Fatalf("status:\n%s", out)
	}
	restartPlugin(t, nil)
	check()
	for _, c := range []string{"ex-web", "ex-cli", "ex-other"} {
		docker(t, "rm", "-f", c)
	}
	docker(t, "network", "rm", "ex-a")
	if got := nbctl(t, "--bare", "--columns=_uuid", "list", "ACL"); got != "" {
		t.Fatalf("ACLs left: %q", got)
	}
}

// Docker retries calls whose reply it lost: on a network with ICC off and
// exposed ports only, CreateEndpoint and Join twice each leave one ACL
// for the endpoint (made by the first CreateEndpoint, untouched since),
// and DeleteNetwork leaves no port group or ACL.
func TestRetriedCallsNeverDoubleACLs(t *testing.T) {
	c := newClient(t, socket)
	nid, eid := freshID(), freshID()[:63]+"3"
	ids := map[string]string{recNet: nid, recEP: eid}
	c.ok("/NetworkDriver.CreateNetwork", map[string]any{"NetworkID": nid,
		"Options":  map[string]any{"com.docker.network.generic": map[string]any{"ovn.ingress": "exposed", "com.docker.network.bridge.enable_icc": "false"}},
		"IPv4Data": []map[string]any{{"Pool": "10.77.0.0/24", "Gateway": "10.77.0.1/24"}}})
	t.Cleanup(func() { c.call("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid}) })
	pg := "docker_" + strings.ReplaceAll(switchOf(nid), "-", "_d")
	endpointACL := func() string {
		t.Helper()
		return nbctl(t, "--bare", "--columns=_uuid,match", "find", "ACL", "priority=1002")
	}
	ep := recorded(t, "NetworkDriver.CreateEndpoint.ports.json", ids)
	for i := 0; i < 2; i++ {
		c.ok("/NetworkDriver.CreateEndpoint", ep)
	}
	first := endpointACL()
	if want := fmt.Sprintf(`outport == %q && (tcp.dst == 80 || tcp.dst == 9090)`, eid); !strings.HasSuffix(first, want) {
		t.Fatalf("the endpoint's ACL after CreateEndpoint: %q, want one matching %s", first, want)
	}
	join := recorded(t, "NetworkDriver.Join.json", ids)
	for i := 0; i < 2; i++ {
		c.ok("/NetworkDriver.Join", join)
	}
	if got := endpointACL(); got != first {
		t.Fatalf("after Join: %q, want %q untouched", got, first)
	}
	if n := strings.Count(nbctl(t, "acl-list", pg), "\n") + 1; n != 4 {
		t.Fatalf("%d ACLs on %s, want the network's 3 and the endpoint's", n, pg)
	}
	for i := 0; i < 2; i++ {
		c.ok("/NetworkDriver.Leave", recorded(t, "NetworkDriver.Leave.json", ids))
		c.ok("/NetworkDriver.DeleteEndpoint", recorded(t, "NetworkDriver.DeleteEndpoint.json", ids))
	}
	if got := endpointACL(); got != "" {
		t.Fatalf("the endpoint's ACL outlived it: %q", got)
	}
	c.ok("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid})
	for _, table := range []string{"Port_Group", "ACL"} {
		if got := nbctl(t, "--bare", "--columns=_uuid", "list", table); got != "" {
			t.Fatalf("%s left: %q", table, got)
		}
	}
}
