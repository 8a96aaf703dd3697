package hostnet

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// testNS makes a throwaway named network namespace and a Host acting in it.
func testNS(t *testing.T) (string, *Host) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("hostnet tests need root: they create network namespaces and veths")
	}
	name := fmt.Sprintf("hn-%d-%d", os.Getpid(), nsCounter.next())
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.NewNamed(name)
	netns.Set(orig)
	orig.Close()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close(); netns.DeleteNamed(name) })
	h, err := NewInNamespace(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return name, h
}

type counter struct{ n int }

func (c *counter) next() int { c.n++; return c.n }

var nsCounter counter

// in runs a command inside the named namespace and returns its output.
func in(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return string(out)
}

func txOff(t *testing.T, ns, dev string) bool {
	t.Helper()
	return strings.Contains(in(t, ns, "ethtool", "-k", dev), "tx-checksumming: off")
}

func TestEnsureVeth(t *testing.T) {
	ns, h := testNS(t)
	mac, _ := net.ParseMAC("02:42:0a:00:00:05")
	v := Veth{HostName: "ovhtest", PeerName: "ovctest", MTU: 1442, PeerMAC: mac, TxChecksumOff: true}
	for i := 0; i < 2; i++ {
		if err := h.EnsureVeth(v); err != nil {
			t.Fatalf("EnsureVeth #%d: %v", i, err)
		}
	}
	host := in(t, ns, "ip", "-o", "link", "show", "ovhtest")
	peer := in(t, ns, "ip", "-o", "link", "show", "ovctest")
	if !strings.Contains(host, "ovhtest@ovctest") || !strings.Contains(host, "mtu 1442") || !strings.Contains(host, "UP") {
		t.Errorf("host end: %s", host)
	}
	if !strings.Contains(peer, "mtu 1442") || !strings.Contains(peer, "02:42:0a:00:00:05") {
		t.Errorf("peer end: %s", peer)
	}
	if !txOff(t, ns, "ovhtest") || !txOff(t, ns, "ovctest") {
		t.Error("tx checksumming still on")
	}
	if n := strings.Count(in(t, ns, "ip", "-o", "-d", "link"), "veth "); n != 2 {
		t.Errorf("%d veth ends, want 2", n)
	}
	for i := 0; i < 2; i++ {
		if err := h.DeleteLink("ovhtest"); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ovhtest", "ovctest"} {
		if ok, err := h.LinkExists(name); ok || err != nil {
			t.Errorf("%s still exists (%v)", name, err)
		}
	}
}

func TestEnsureVethRefusesOtherDevice(t *testing.T) {
	ns, h := testNS(t)
	in(t, ns, "ip", "link", "add", "ovhtest", "type", "bridge")
	err := h.EnsureVeth(Veth{HostName: "ovhtest", PeerName: "ovctest"})
	if err == nil || !strings.Contains(err.Error(), "not a veth") {
		t.Fatalf("got %v", err)
	}
	if ok, _ := h.LinkExists("ovhtest"); !ok {
		t.Fatal("the bridge was removed")
	}
}

func TestEnsureVethRollsBack(t *testing.T) {
	_, h := testNS(t)
	// An MTU the kernel refuses fails after the pair exists.
	err := h.EnsureVeth(Veth{HostName: "ovhtest", PeerName: "ovctest", MTU: 70000})
	if err == nil {
		t.Fatal("MTU 70000 accepted")
	}
	if ok, _ := h.LinkExists("ovhtest"); ok {
		t.Fatal("pair left after a failed EnsureVeth")
	}
}

func TestTxOffSurvivesMove(t *testing.T) {
	ns, h := testNS(t)
	other, _ := testNS(t)
	if err := h.EnsureVeth(Veth{HostName: "ovhtest", PeerName: "ovctest", TxChecksumOff: true}); err != nil {
		t.Fatal(err)
	}
	in(t, ns, "ip", "link", "set", "ovctest", "netns", other)
	if !txOff(t, other, "ovctest") {
		t.Fatal("tx checksumming back on after the move")
	}
	// A retry once the peer is in the container still succeeds.
	if err := h.EnsureVeth(Veth{HostName: "ovhtest", PeerName: "ovctest", TxChecksumOff: true, MTU: 1400}); err != nil {
		t.Fatalf("retry after the peer moved: %v", err)
	}
}

func TestUnderlayMTU(t *testing.T) {
	ns, h := testNS(t)
	if mtu, err := h.UnderlayMTU(""); mtu != 1500 || err != nil {
		t.Fatalf("no default route: %d %v", mtu, err)
	}
	in(t, ns, "ip", "link", "set", "lo", "up")
	in(t, ns, "ip", "link", "add", "jumbo", "mtu", "9000", "type", "veth", "peer", "name", "jumbo-p")
	in(t, ns, "ip", "addr", "add", "172.31.9.1/24", "dev", "jumbo")
	in(t, ns, "ip", "link", "set", "jumbo", "up")
	in(t, ns, "ip", "link", "set", "jumbo-p", "up")
	in(t, ns, "ip", "link", "add", "uplink", "mtu", "1400", "type", "veth", "peer", "name", "uplink-p")
	in(t, ns, "ip", "addr", "add", "172.31.8.1/24", "dev", "uplink")
	in(t, ns, "ip", "link", "set", "uplink", "up")
	in(t, ns, "ip", "link", "set", "uplink-p", "up")
	in(t, ns, "ip", "route", "add", "default", "via", "172.31.8.254")
	for _, tc := range []struct {
		ip   string
		want int
	}{{"172.31.9.1", 9000}, {"127.0.0.1", 1400}, {"", 1400}, {"192.0.2.1", 1400}} {
		if mtu, err := h.UnderlayMTU(tc.ip); mtu != tc.want || err != nil {
			t.Errorf("UnderlayMTU(%q) = %d, %v; want %d", tc.ip, mtu, err, tc.want)
		}
	}
}

func TestGeneveOverhead(t *testing.T) {
	for ip, want := range map[string]int{"": 58, "172.31.0.1": 58, "fd00::1": 78, "garbage": 58} {
		if got := GeneveOverhead(ip); got != want {
			t.Errorf("GeneveOverhead(%q) = %d, want %d", ip, got, want)
		}
	}
	if 1500-GeneveOverhead("10.0.0.1") != 1442 {
		t.Error("1500-byte underlay must leave 1442")
	}
}

func TestRetireThenDeleteInOneBatch(t *testing.T) {
	ns, h := testNS(t)
	for i := 0; i < 3; i++ {
		v := Veth{HostName: fmt.Sprintf("ovhold%d", i), PeerName: fmt.Sprintf("ovcold%d", i)}
		if err := h.EnsureVeth(v); err != nil {
			t.Fatal(err)
		}
	}
	in(t, ns, "ip", "link", "add", "keep", "type", "veth", "peer", "name", "keep-p")
	for _, name := range []string{"ovhold0", "ovhold1", "absent"} {
		if err := h.Retire(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.DeleteRetired(); err != nil {
		t.Fatal(err)
	}
	links := in(t, ns, "ip", "-o", "link")
	for _, gone := range []string{"ovhold0", "ovcold0", "ovhold1", "ovcold1"} {
		if strings.Contains(links, gone+"@") || strings.Contains(links, gone+":") {
			t.Errorf("%s survived DeleteRetired", gone)
		}
	}
	for _, kept := range []string{"ovhold2", "ovcold2", "keep", "keep-p"} {
		if !strings.Contains(links, kept) {
			t.Errorf("%s was deleted though not retired", kept)
		}
	}
	if err := h.DeleteRetired(); err != nil {
		t.Fatalf("DeleteRetired with nothing retired: %v", err)
	}
}

func TestVethsTellWhereThePeerIs(t *testing.T) {
	ns, h := testNS(t)
	other, _ := testNS(t)
	for _, n := range []string{"a", "b", "c"} {
		if err := h.EnsureVeth(Veth{HostName: "ovh" + n, PeerName: "ovc" + n}); err != nil {
			t.Fatal(err)
		}
	}
	in(t, ns, "ip", "link", "add", "other0", "type", "veth", "peer", "name", "other1")
	in(t, ns, "ip", "link", "set", "ovcb", "netns", other)
	if err := h.Retire("ovhc"); err != nil {
		t.Fatal(err)
	}
	got, err := h.Veths("ovh")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]VethInfo{"ovha": {Name: "ovha"}, "ovhb": {Name: "ovhb", PeerElsewhere: true}, "ovhc": {Name: "ovhc", Retired: true}}
	if len(got) != len(want) {
		t.Fatalf("Veths = %+v", got)
	}
	for _, v := range got {
		if want[v.Name] != v {
			t.Errorf("%+v, want %+v", v, want[v.Name])
		}
	}
}
