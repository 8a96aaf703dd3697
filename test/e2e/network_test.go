package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed commands, exactly as the project's brief gives them.
func TestSeedCommands(t *testing.T) {
	sh("docker", "rm", "-f", "busybox")
	id := createNetwork(t, "foo", "--subnet=192.168.1.0/24")
	ls := switchOf(id)
	if got := nbctl(t, "get", "Logical_Switch", ls, `external_ids:"docker:network-id"`); strings.Trim(got, `"`) != id {
		t.Fatalf("switch %s records network %s, want %s", ls, got, id)
	}
	if got := nbctl(t, "get", "Logical_Switch", ls, `external_ids:"docker:subnets"`); strings.Trim(got, `"`) != "192.168.1.0/24" {
		t.Fatalf("switch records subnets %s", got)
	}
	t.Cleanup(func() { sh("docker", "rm", "-f", "busybox") })
	docker(t, "run", "--net=foo", "--name=busybox", image)
	// The container ran with its interface on foo: its endpoint is in Docker's
	// records and, once stopped, its port and veth are gone from OVN and OVS.
	ep := endpointID(t, "busybox", "foo")
	if ep != "" {
		t.Fatalf("stopped container still has endpoint %s", ep)
	}
	if got := nbctl(t, "lsp-list", ls); got != "" {
		t.Fatalf("ports left on %s after the container stopped: %s", ls, got)
	}
	out := docker(t, "run", "--rm", "--net=foo", image, "ip", "-4", "addr", "show", "eth0")
	if !strings.Contains(out, "inet 192.168.1.") {
		t.Fatalf("container eth0 has no address in 192.168.1.0/24:\n%s", out)
	}
}

func TestTwoContainersTalk(t *testing.T) {
	createNetwork(t, "talk", "--subnet=10.90.0.0/24")
	run(t, "talk-a", "--net=talk")
	run(t, "talk-b", "--net=talk")
	ipA, ipB := containerIP(t, "talk-a", "talk"), containerIP(t, "talk-b", "talk")
	exec_(t, "talk-a", "ping", "-c", "3", "-W", "2", ipB)
	exec_(t, "talk-b", "ping", "-c", "3", "-W", "2", ipA)
	exec_(t, "talk-a", "ping", "-c", "2", "-W", "2", "talk-b")
	exec_(t, "talk-b", "ping", "-c", "2", "-W", "2", "talk-a")
	tcp(t, "talk-a", "talk-b", ipB)
	tcp(t, "talk-b", "talk-a", ipA)
	tcp(t, "talk-a", "talk-b", "talk-b")
}

// tcp checks a TCP exchange from client to server, in both directions of the
// stream: ping alone proves nothing on the userspace datapath.
func tcp(t *testing.T, client, server, addr string) {
	t.Helper()
	word := fmt.Sprintf("hello-%d", time.Now().UnixNano())
	docker(t, "exec", "-d", server, "sh", "-c", "echo "+word+" | nc -l -p 5000")
	var got string
	eventually(t, 10*time.Second, "TCP from "+client+" to "+addr, func() error {
		out, err := sh("docker", "exec", client, "sh", "-c", "echo ping | nc -w 3 "+addr+" 5000")
		got = out
		if err != nil {
			return err
		}
		if !strings.Contains(out, word) {
			return fmt.Errorf("got %q, want %q", out, word)
		}
		return nil
	})
	_ = got
}

func TestFirstPingAfterRun(t *testing.T) {
	createNetwork(t, "first", "--subnet=10.91.0.0/24")
	run(t, "first-target", "--net=first")
	target := containerIP(t, "first-target", "first")
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("first-%d", i)
		run(t, name, "--net=first")
		// One probe, one second: nothing is retried, so nothing may be lost.
		if out, err := sh("docker", "exec", name, "ping", "-c", "1", "-W", "1", target); err != nil {
			t.Fatalf("first ping from a fresh container was lost (attempt %d): %v\n%s", i, err, out)
		}
	}
}

func TestStaticIPWithDefaultIPAM(t *testing.T) {
	createNetwork(t, "static", "--subnet=10.92.0.0/24")
	run(t, "static-a", "--net=static", "--ip=10.92.0.50")
	if ip := containerIP(t, "static-a", "static"); ip != "10.92.0.50" {
		t.Fatalf("container has %s, want 10.92.0.50", ip)
	}
	ep := endpointID(t, "static-a", "static")
	if got := nbctl(t, "lsp-get-addresses", ep); !strings.HasSuffix(got, " 10.92.0.50") {
		t.Fatalf("logical port addresses %q", got)
	}
	if got := exec_(t, "static-a", "ip", "-4", "addr", "show", "eth0"); !strings.Contains(got, "10.92.0.50/24") {
		t.Fatalf("eth0: %s", got)
	}
}

func TestMTU(t *testing.T) {
	for _, tc := range []struct {
		name, opt, want string
	}{
		{"mtu-long", "com.docker.network.driver.mtu=1400", "1400"},
		{"mtu-short", "mtu=1300", "1300"},
		{"mtu-default", "", defaultMTU(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--subnet=10.93.0.0/24"}
			if tc.opt != "" {
				args = append(args, "-o", tc.opt)
			}
			createNetwork(t, tc.name, args...)
			got := docker(t, "run", "--rm", "--net="+tc.name, image, "cat", "/sys/class/net/eth0/mtu")
			if got != tc.want {
				t.Fatalf("container eth0 MTU %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRemoveLeavesNothing(t *testing.T) {
	id := createNetwork(t, "gone", "--subnet=10.94.0.0/24")
	run(t, "gone-a", "--net=gone")
	ep := endpointID(t, "gone-a", "gone")
	host := "ovh" + ep[:12]
	if got := vsctl(t, "get", "Interface", host, "external_ids:iface-id"); strings.Trim(got, `"`) != ep {
		t.Fatalf("OVS interface %s bound to %s, want %s", host, got, ep)
	}
	if got := vsctl(t, "get", "Interface", host, "external_ids:ovn-installed"); got != `"true"` {
		t.Fatalf("ovn-installed = %s after docker run returned", got)
	}
	must(t, "ip", "link", "show", host)
	docker(t, "rm", "-f", "gone-a")
	if got := vsctl(t, "list-ports", "br-int"); strings.Contains(got, host) {
		t.Fatalf("OVS port %s left on br-int after docker rm", host)
	}
	// The veth is deleted in the background (the kernel takes ~20 ms a veth).
	eventually(t, 5*time.Second, "veth "+host+" gone after docker rm", func() error {
		if _, err := sh("ip", "link", "show", host); err == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+ep); got != "" {
		t.Fatalf("logical port %s left after docker rm", ep)
	}
	docker(t, "network", "rm", "gone")
	if got := driverSwitches(t); strings.Contains(got, switchOf(id)) {
		t.Fatalf("switch %s left after docker network rm", switchOf(id))
	}
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", `external_ids:"docker:network-id"=`+id); got != "" {
		t.Fatalf("ports of the network left after docker network rm: %s", got)
	}
}

func TestBadInputIsRefused(t *testing.T) {
	before := driverSwitches(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "mtu=abc"}, `invalid MTU "abc"`},
		{[]string{"-o", "com.docker.network.driver.mtu=70000"}, `invalid MTU "70000"`},
		{[]string{"-o", "colour=blue"}, `unknown option "colour"`},
	} {
		args := append([]string{"network", "create", "-d", "openvswitch", "--subnet=10.95.0.0/24"}, tc.args...)
		out, err := sh("docker", append(args, "bad")...)
		if err == nil {
			sh("docker", "network", "rm", "bad")
			t.Fatalf("%v accepted", tc.args)
		}
		if !strings.Contains(out, tc.want) {
			t.Fatalf("%v: message %q does not say %q", tc.args, out, tc.want)
		}
	}
	if after := driverSwitches(t); after != before {
		t.Fatalf("refused networks left switches: before %q after %q", before, after)
	}
}

// An --internal network has no way out: Docker gives its containers no
// docker_gwbridge interface and no default route, so a packet to an
// address outside the network never leaves. The control: a container on an
// ordinary network reaches that same address (the host's end of its
// docker_gwbridge) with the same commands.
func TestInternalNetwork(t *testing.T) {
	id := createNetwork(t, "inside", "--internal", "--subnet=10.96.0.0/24")
	if got := nbctl(t, "get", "Logical_Switch", switchOf(id), `external_ids:"docker:internal"`); strings.Trim(got, `"`) != "true" {
		t.Fatalf("docker:internal = %s", got)
	}
	createNetwork(t, "outside", "--subnet=10.95.0.0/24")
	run(t, "inside-a", "--net=inside")
	run(t, "inside-b", "--net=inside")
	run(t, "outside-a", "--net=outside")
	exec_(t, "inside-a", "ping", "-c", "2", "-W", "2", containerIP(t, "inside-b", "inside"))
	tcp(t, "inside-a", "inside-b", containerIP(t, "inside-b", "inside"))

	// The host's address on docker_gwbridge, the ordinary network's way out.
	gw := exec_(t, "outside-a", "sh", "-c", "ip route | awk '/^default/ {print $3}'")
	if gw == "" {
		t.Fatal("the control container has no default route")
	}
	exec_(t, "outside-a", "ping", "-c", "1", "-W", "2", gw)
	if out := exec_(t, "inside-a", "ip", "-o", "link"); strings.Contains(out, "eth1") {
		t.Fatalf("an internal network's container has a second interface:\n%s", out)
	}
	if out := exec_(t, "inside-a", "ip", "route"); strings.Contains(out, "default") {
		t.Fatalf("an internal network's container has a default route:\n%s", out)
	}
	if out, err := sh("docker", "exec", "inside-a", "ping", "-c", "2", "-W", "2", gw); err == nil {
		t.Fatalf("an internal network's container reached %s:\n%s", gw, out)
	}
	if out, err := sh("docker", "exec", "inside-a", "sh", "-c", "echo x | nc -w 2 "+gw+" 22"); err == nil && out != "" {
		t.Fatalf("an internal network's container opened TCP to %s: %s", gw, out)
	}
}

func TestDualStack(t *testing.T) {
	createNetwork(t, "dual", "--ipv6", "--subnet=10.97.0.0/24", "--subnet=fd00:97::/64")
	run(t, "dual-a", "--net=dual")
	run(t, "dual-b", "--net=dual")
	v6b := containerIPv6(t, "dual-b", "dual")
	if !strings.HasPrefix(v6b, "fd00:97::") {
		t.Fatalf("dual-b IPv6 %q", v6b)
	}
	ep := endpointID(t, "dual-b", "dual")
	if got := nbctl(t, "lsp-get-addresses", ep); !strings.Contains(got, v6b) || !strings.Contains(got, containerIP(t, "dual-b", "dual")) {
		t.Fatalf("logical port addresses %q lack %s", got, v6b)
	}
	exec_(t, "dual-a", "ping", "-6", "-c", "2", "-W", "2", v6b)
	tcp(t, "dual-a", "dual-b", v6b)
}

// defaultMTU is what the driver should pick with no option: the MTU of the
// default route's device (the encap IP is on loopback here) less Geneve's 58.
func defaultMTU(t *testing.T) string {
	t.Helper()
	dev := strings.Fields(must(t, "sh", "-c", "ip -4 route show default | head -1 | sed 's/.* dev //'"))
	if len(dev) == 0 {
		return "1442"
	}
	mtu, err := strconv.Atoi(strings.TrimSpace(must(t, "cat", "/sys/class/net/"+dev[0]+"/mtu")))
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(mtu - 58)
}
