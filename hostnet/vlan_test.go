//go:build vlan

// The VLAN tests need a kernel with 802.1Q (CONFIG_VLAN_8021Q): they run
// inside the nested bed's VM (make test-nested), whose Debian kernel has it.

package hostnet

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestEnsureVLAN(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "eth0", "mtu", "1442", "type", "veth", "peer", "name", "eth0p")
	v0 := VLAN{Name: "ovcdown", Parent: "eth0", Tag: 9, Mark: "m"}
	if err := h.EnsureVLAN(v0); err == nil || !strings.Contains(err.Error(), "uplink eth0 is down") {
		t.Fatalf("down uplink: %v", err)
	}
	run(t, ns, "ip", "link", "set", "eth0", "up")
	run(t, ns, "ip", "link", "set", "eth0p", "up")
	mac, _ := net.ParseMAC("02:42:0a:00:00:07")
	v := VLAN{Name: "ovcabc", Parent: "eth0", Tag: 7, MAC: mac, Mark: "ovn-docker:abc"}
	for range 2 { // a retried Join changes nothing
		if err := h.EnsureVLAN(v); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, ns, "ip", "-d", "link", "show", "ovcabc")
	for _, want := range []string{"ovcabc@eth0", "mtu 1442", ",UP,", "link/ether 02:42:0a:00:00:07", "vlan protocol 802.1Q id 7", "alias ovn-docker:abc"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from:\n%s", want, out)
		}
	}
	if mtu, err := h.LinkMTU("eth0"); err != nil || mtu != 1442 {
		t.Fatalf("LinkMTU: %d %v", mtu, err)
	}
	// Another tag on the same name would move the container to another port.
	other := v
	other.Tag = 8
	if err := h.EnsureVLAN(other); err == nil || !strings.Contains(err.Error(), "is not VLAN 8 on eth0") {
		t.Fatalf("tag changed: %v", err)
	}
	if err := h.DeleteLink("ovcabc", v.Mark); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.LinkExists("ovcabc"); ok || err != nil {
		t.Fatalf("still there: %v %v", ok, err)
	}
}

func TestEnsureVLANRefuses(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
	run(t, ns, "ip", "link", "set", "eth0", "up")
	run(t, ns, "ip", "link", "add", "ovcxyz", "type", "veth", "peer", "name", "ovcxyzp")
	for _, tc := range []struct {
		v    VLAN
		want string
	}{
		{VLAN{Name: "ovcnew", Parent: "eth9", Tag: 3}, "uplink eth9 does not exist"},
		{VLAN{Name: "ovcnew", Parent: "eth0", Tag: 0}, "(1-4094)"},
		{VLAN{Name: "ovcxyz", Parent: "eth0", Tag: 3, Mark: "ovn-docker:xyz"}, "does not carry ovn-docker's mark"},
	} {
		err := h.EnsureVLAN(tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.v, err, tc.want)
		}
	}
	if err := h.EnsureVLAN(VLAN{Name: "ovcxyz", Parent: "eth0", Tag: 3, Mark: "m"}); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("unmarked device: %v", err)
	}
}
