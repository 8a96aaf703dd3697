package hostnet

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRetireThenDeleteInOneBatch(t *testing.T) {
	ns, h := testNS(t)
	for i := 0; i < 3; i++ {
		v := Veth{HostName: fmt.Sprintf("ovhold%d", i), PeerName: fmt.Sprintf("ovcold%d", i), Mark: "m"}
		if err := h.EnsureVeth(v); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ns, "ip", "link", "add", "keep", "type", "veth", "peer", "name", "keep-p")
	for _, name := range []string{"ovhold0", "ovhold1", "absent"} {
		if err := h.Retire(name, "m"); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Retire("keep", "m"); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("retiring an unmarked device: %v", err)
	}
	if err := h.DeleteRetired(); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"ovhold0", "ovcold0", "ovhold1", "ovcold1"} {
		if exists(t, h, gone) {
			t.Errorf("%s survived DeleteRetired", gone)
		}
	}
	for _, kept := range []string{"ovhold2", "ovcold2", "keep", "keep-p"} {
		if !exists(t, h, kept) {
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
		if err := h.EnsureVeth(Veth{HostName: "ovh" + n, PeerName: "ovc" + n, Mark: "ovn-docker " + n}); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ns, "ip", "link", "add", "other0", "type", "veth", "peer", "name", "other1")
	run(t, ns, "ip", "link", "set", "ovcb", "netns", other)
	if err := h.Retire("ovhc", "ovn-docker c"); err != nil {
		t.Fatal(err)
	}
	got, err := h.Veths("ovh")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]VethInfo{
		"ovha": {Name: "ovha", Mark: "ovn-docker a"},
		"ovhb": {Name: "ovhb", PeerElsewhere: true, Mark: "ovn-docker b"},
		"ovhc": {Name: "ovhc", Retired: true, Mark: "ovn-docker c"},
	}
	if len(got) != len(want) {
		t.Fatalf("Veths = %+v", got)
	}
	for _, v := range got {
		if want[v.Name] != v {
			t.Errorf("%+v, want %+v", v, want[v.Name])
		}
	}
	if out := run(t, ns, "ip", "-o", "link"); !strings.Contains(out, "other0") {
		t.Error("unrelated veth disappeared")
	}
}
