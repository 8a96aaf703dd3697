package hostnet

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func testVeth() Veth {
	mac, _ := net.ParseMAC("02:42:0a:00:00:05")
	return Veth{HostName: "ovhtest", PeerName: "ovctest", MTU: 1442, PeerMAC: mac, TxChecksumOff: true, Mark: "ovn-docker test"}
}

func TestEnsureVethCreatesConfiguredPair(t *testing.T) {
	ns, h := testNS(t)
	v := testVeth()
	if err := h.EnsureVeth(v); err != nil {
		t.Fatal(err)
	}
	host, peer := link(t, h, v.HostName), link(t, h, v.PeerName)
	if host.Type() != "veth" || peer.Type() != "veth" || host.Attrs().ParentIndex != peer.Attrs().Index {
		t.Fatalf("%s and %s are not one veth pair", v.HostName, v.PeerName)
	}
	if out := run(t, ns, "ip", "-o", "link", "show", v.HostName); !strings.Contains(out, "ovhtest@ovctest") {
		t.Errorf("ip link does not show the pair: %s", out)
	}
	for _, l := range []netlink.Link{host, peer} {
		if a := l.Attrs(); a.MTU != 1442 || a.TxQLen != 1000 {
			t.Errorf("%s: mtu %d qlen %d, want 1442 and the kernel's 1000", a.Name, a.MTU, a.TxQLen)
		}
		if got := txCsum(t, ns, l.Attrs().Name); got != "off" {
			t.Errorf("%s: tx-checksumming %s", l.Attrs().Name, got)
		}
	}
	if got := peer.Attrs().HardwareAddr.String(); got != v.PeerMAC.String() {
		t.Errorf("peer MAC %s, want %s", got, v.PeerMAC)
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		t.Error("host end is down")
	}
	// Docker configures the peer once it is in the container.
	if peer.Attrs().Flags&net.FlagUp != 0 {
		t.Error("peer end was brought up")
	}
}

// Without options the kernel's defaults stay, TX checksum offload included:
// this also shows the offload is on to begin with, so the test above
// measures something.
func TestEnsureVethKeepsDefaults(t *testing.T) {
	ns, h := testNS(t)
	if err := h.EnsureVeth(Veth{HostName: "ovhtest", PeerName: "ovctest"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ovhtest", "ovctest"} {
		if mtu := link(t, h, name).Attrs().MTU; mtu != 1500 {
			t.Errorf("%s: mtu %d", name, mtu)
		}
		if got := txCsum(t, ns, name); got != "on" {
			t.Errorf("%s: tx-checksumming %s, want the kernel's on", name, got)
		}
	}
}

func TestEnsureVethIsRetrySafe(t *testing.T) {
	ns, h := testNS(t)
	v := testVeth()
	if err := h.EnsureVeth(v); err != nil {
		t.Fatal(err)
	}
	// Undo the settings behind its back; the retry must put them back.
	run(t, ns, "ip", "link", "set", "ovctest", "mtu", "1300", "address", "02:00:00:00:00:99")
	run(t, ns, "ip", "link", "set", "ovhtest", "down")
	run(t, ns, "ethtool", "-K", "ovhtest", "tx", "on")
	if err := h.EnsureVeth(v); err != nil {
		t.Fatalf("second EnsureVeth: %v", err)
	}
	if n := countVeths(t, h); n != 2 {
		t.Errorf("%d veth ends after the retry, want 2", n)
	}
	peer := link(t, h, "ovctest")
	if peer.Attrs().MTU != 1442 || peer.Attrs().HardwareAddr.String() != v.PeerMAC.String() {
		t.Errorf("peer settings not restored: mtu %d mac %s", peer.Attrs().MTU, peer.Attrs().HardwareAddr)
	}
	if link(t, h, "ovhtest").Attrs().Flags&net.FlagUp == 0 {
		t.Error("host end not brought back up")
	}
	if got := txCsum(t, ns, "ovhtest"); got != "off" {
		t.Errorf("tx-checksumming %s after the retry", got)
	}
}

func TestEnsureVethRefusesOtherDevice(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "ovhtest", "type", "bridge")
	err := h.EnsureVeth(testVeth())
	if err == nil || !strings.Contains(err.Error(), "not a veth") {
		t.Fatalf("EnsureVeth over a bridge: %v", err)
	}
	if l := link(t, h, "ovhtest"); l.Type() != "bridge" || l.Attrs().MTU != 1500 {
		t.Fatalf("the bridge was changed: %s mtu %d", l.Type(), l.Attrs().MTU)
	}
	if exists(t, h, "ovctest") {
		t.Error("a peer was created anyway")
	}
}

func TestEnsureVethRefusesOtherPair(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "ovhtest", "type", "veth", "peer", "name", "someone")
	err := h.EnsureVeth(testVeth())
	if err == nil || !strings.Contains(err.Error(), "peer is someone") {
		t.Fatalf("EnsureVeth over another pair: %v", err)
	}
	if !exists(t, h, "ovhtest") || !exists(t, h, "someone") || exists(t, h, "ovctest") {
		t.Error("the other pair was changed")
	}
	if link(t, h, "ovhtest").Attrs().MTU != 1500 {
		t.Error("the other pair was reconfigured")
	}
}

// A taken peer name makes creation fail; the device holding it is not ours
// and must survive.
func TestEnsureVethLeavesTakenPeerName(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "ovctest", "type", "bridge")
	if err := h.EnsureVeth(testVeth()); err == nil {
		t.Fatal("EnsureVeth succeeded with the peer name taken")
	}
	if exists(t, h, "ovhtest") || link(t, h, "ovctest").Type() != "bridge" {
		t.Error("devices changed by a failed EnsureVeth")
	}
}

func TestEnsureVethRollsBack(t *testing.T) {
	_, h := testNS(t)
	// An MTU beyond veth's 65535 fails, at creation or at configuration;
	// either way no pair may be left.
	v := testVeth()
	v.MTU = 70000
	err := h.EnsureVeth(v)
	if err == nil || !strings.Contains(err.Error(), "70000") && !strings.Contains(err.Error(), "create veth") {
		t.Fatalf("EnsureVeth with MTU 70000: %v", err)
	}
	if exists(t, h, "ovhtest") || exists(t, h, "ovctest") {
		t.Fatal("pair left after a failed EnsureVeth")
	}
}

func TestEnsureVethRejectsBadNames(t *testing.T) {
	_, h := testNS(t)
	for _, v := range []Veth{
		{HostName: "", PeerName: "ovctest"},
		{HostName: "ovhtest", PeerName: "sixteen-chars-xx"},
		{HostName: "same", PeerName: "same"},
	} {
		if err := h.EnsureVeth(v); err == nil {
			t.Errorf("EnsureVeth(%q, %q) accepted", v.HostName, v.PeerName)
		}
	}
	if n := countVeths(t, h); n != 0 {
		t.Errorf("%d veth ends created from bad names", n)
	}
}

func TestDeleteLink(t *testing.T) {
	ns, h := testNS(t)
	for _, end := range []string{"ovhtest", "ovctest"} {
		if err := h.EnsureVeth(testVeth()); err != nil {
			t.Fatal(err)
		}
		if err := h.DeleteLink(end, "ovn-docker test"); err != nil && end == "ovhtest" {
			t.Fatalf("DeleteLink(%s): %v", end, err)
		}
		if end == "ovctest" { // the container end carries no mark
			if err := h.DeleteLink(end, ""); err != nil {
				t.Fatalf("DeleteLink(%s): %v", end, err)
			}
		}
		if out := run(t, ns, "ip", "-o", "link"); strings.Contains(out, "ovhtest") || strings.Contains(out, "ovctest") {
			t.Fatalf("deleting %s left an end:\n%s", end, out)
		}
	}
	for _, absent := range []string{"ovhtest", "never-was"} {
		if err := h.DeleteLink(absent, "ovn-docker test"); err != nil {
			t.Errorf("DeleteLink of absent %s: %v", absent, err)
		}
	}
}

func TestDeleteLinkLeavesUnmarkedDevices(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "ovh000000000001", "type", "veth", "peer", "name", "ovc000000000001")
	if err := h.DeleteLink("ovh000000000001", "ovn-docker 000000000001"); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("DeleteLink of a device someone else made by our naming pattern: %v", err)
	}
	if !exists(t, h, "ovh000000000001") {
		t.Fatal("an unmarked device was deleted")
	}
}

func TestEnsureVethMarksAnExistingPair(t *testing.T) {
	_, h := testNS(t)
	v := testVeth()
	v.Mark = ""
	if err := h.EnsureVeth(v); err != nil {
		t.Fatal(err)
	}
	v.Mark = "ovn-docker test"
	if err := h.EnsureVeth(v); err != nil {
		t.Fatal(err)
	}
	if a := link(t, h, "ovhtest").Attrs().Alias; a != v.Mark {
		t.Fatalf("alias %q after a retried EnsureVeth, want %q", a, v.Mark)
	}
}

func TestLinkExists(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "here", "type", "bridge")
	if !exists(t, h, "here") || !exists(t, h, "lo") {
		t.Error("existing devices reported absent")
	}
	if exists(t, h, "not-here") {
		t.Error("absent device reported present")
	}
}

func TestInterruptedDumpsAreAskedAgain(t *testing.T) {
	calls := 0
	err := retryDump(func() error {
		if calls++; calls < 3 {
			return netlink.ErrDumpInterrupted
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retryDump: %v after %d calls", err, calls)
	}
	calls = 0
	err = retryDump(func() error { calls++; return netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) || calls != dumpTries {
		t.Fatalf("a dump interrupted every time: %v after %d calls; a partial list must never be used", err, calls)
	}
}
