package hostnet

import (
	"strings"
	"testing"
)

func TestTxChecksumOff(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "ova", "type", "veth", "peer", "name", "ovb")
	if got := txCsum(t, ns, "ova"); got != "on" {
		t.Fatalf("fresh veth has tx-checksumming %s", got)
	}
	for i := 0; i < 2; i++ {
		if err := h.TxChecksumOff("ova"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := txCsum(t, ns, "ova"); got != "off" {
		t.Errorf("ova: tx-checksumming %s", got)
	}
	if got := txCsum(t, ns, "ovb"); got != "on" {
		t.Errorf("ovb, the other end, changed to %s", got)
	}
}

// The ioctl socket must act in the Host's namespace and nowhere else.
func TestTxChecksumOffStaysInNamespace(t *testing.T) {
	_, h := testNS(t)
	other, _ := testNS(t)
	run(t, other, "ip", "link", "add", "ova", "type", "veth", "peer", "name", "ovb")
	err := h.TxChecksumOff("ova")
	if err == nil || !strings.Contains(err.Error(), "no such device") {
		t.Fatalf("TxChecksumOff on a device of another namespace: %v", err)
	}
	if got := txCsum(t, other, "ova"); got != "on" {
		t.Errorf("device in the other namespace changed to %s", got)
	}
	if err := h.TxChecksumOff("much-too-long-name"); err == nil {
		t.Error("overlong name accepted")
	}
}

// Docker moves the peer into the container after Join; the setting must
// travel with it, as the driver assumes.
func TestTxOffSurvivesMove(t *testing.T) {
	ns, h := testNS(t)
	container, _ := testNS(t)
	v := testVeth()
	if err := h.EnsureVeth(v); err != nil {
		t.Fatal(err)
	}
	run(t, ns, "ip", "link", "set", "ovctest", "netns", container)
	if got := txCsum(t, container, "ovctest"); got != "off" {
		t.Fatalf("tx-checksumming %s after the move", got)
	}
	if out := run(t, container, "ip", "-o", "link", "show", "ovctest"); !strings.Contains(out, "mtu 1442") {
		t.Errorf("MTU lost in the move: %s", out)
	}
}

// A retried EnsureVeth after the move still recognises the pair (the peer's
// name is read across namespaces), but refuses another peer name, and does
// not touch a local device that merely has the peer's name.
func TestEnsureVethAfterPeerMoved(t *testing.T) {
	ns, h := testNS(t)
	container, _ := testNS(t)
	v := testVeth()
	if err := h.EnsureVeth(v); err != nil {
		t.Fatal(err)
	}
	run(t, ns, "ip", "link", "set", "ovctest", "netns", container)
	if err := h.EnsureVeth(v); err != nil {
		t.Fatalf("retry after the peer moved: %v", err)
	}
	other := v
	other.PeerName = "ovcother"
	if err := h.EnsureVeth(other); err == nil || !strings.Contains(err.Error(), "peer is ovctest") {
		t.Errorf("EnsureVeth with a different peer name: %v", err)
	}
	run(t, ns, "ip", "link", "add", "ovctest", "type", "bridge")
	if err := h.EnsureVeth(v); err != nil {
		t.Fatalf("retry with a local namesake of the peer: %v", err)
	}
	if l := link(t, h, "ovctest"); l.Attrs().MTU != 1500 || l.Attrs().HardwareAddr.String() == v.PeerMAC.String() {
		t.Error("the local namesake of the peer was reconfigured")
	}
}
