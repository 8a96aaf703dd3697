package driver

import (
	"context"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// nestedRig is a driver in a VM: no OVS at all.
func nestedRig(t *testing.T) *rig {
	r := newRig(t)
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	r.d = New(r.nb, nil, r.links, Config{ReadyTimeout: time.Second, OrphanGrace: time.Minute, Log: log, Now: r.clock.Now,
		Nested: &Nested{Parent: "vm1", Uplink: "eth0"}})
	t.Cleanup(r.d.Close)
	return r
}

// In a VM, an endpoint is a nested port of the VM's, Join hands Docker a
// VLAN interface of the uplink with the port's tag and MAC, Leave deletes
// it; the network's MTU is the uplink's; the VM is named as nested:PORT
// where a chassis writes its system-id.
func TestNestedEndpoint(t *testing.T) {
	r := nestedRig(t)
	ctx := context.Background()
	r.network(t)
	if sw := r.nb.switches[nid]; sw.MTU != 1442 || sw.Chassis != "nested:vm1" {
		t.Fatalf("switch %+v: want the uplink's MTU and nested:vm1", sw)
	}
	r.endpoint(t, "02:42:0a:4d:00:03")
	p := r.nb.ports[PortName(eid)]
	if p.Parent != "vm1" || p.Chassis != "" {
		t.Fatalf("port %+v: want parent vm1 and no requested chassis", p)
	}
	join := &network.JoinRequest{NetworkID: nid, EndpointID: eid, SandboxKey: "/var/run/docker/netns/x"}
	for range 2 { // retried
		resp, err := r.d.Join(ctx, join)
		if err != nil {
			t.Fatal(err)
		}
		if resp.InterfaceName.SrcName != PeerIfName(eid) {
			t.Fatalf("SrcName %q", resp.InterfaceName.SrcName)
		}
	}
	v := r.links.vlans[PeerIfName(eid)]
	if v.Parent != "eth0" || v.Tag != 7 || v.MAC.String() != "02:42:0a:4d:00:03" || v.MTU != 1442 || v.Mark != linkMark(eid) {
		t.Fatalf("VLAN %+v", v)
	}
	if len(r.links.veths) != 0 {
		t.Fatalf("veths made in a VM: %v", r.links.veths)
	}
	info, err := r.d.EndpointOperInfo(ctx, &network.InfoRequest{NetworkID: nid, EndpointID: eid})
	if err != nil || info.Value["parent"] != "vm1" || info.Value["tag"] != "7" {
		t.Fatalf("EndpointOperInfo %v %v", info, err)
	}
	if _, err := r.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Leave(ctx, &network.LeaveRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	if len(r.links.vlans) != 0 {
		t.Fatalf("VLAN left: %v", r.links.vlans)
	}
}

// In a VM, reconciliation removes the nested ports of this VM's port that
// no container of Docker's holds, after the grace period, with their VLAN
// interface; another VM's ports, a chassis' ports and endpoints Docker
// has are left alone.
func TestReconcileNested(t *testing.T) {
	r := nestedRig(t)
	ctx := context.Background()
	r.network(t)
	gone, held, late := epID(1), epID(2), epID(3)
	for _, id := range []string{gone, held, late} {
		r.nb.ports[PortName(id)] = nb.Port{Name: PortName(id), EndpointID: id, NetworkID: nid, Parent: "vm1"}
	}
	r.nb.ports[PortName(epID(4))] = nb.Port{Name: PortName(epID(4)), EndpointID: epID(4), NetworkID: nid, Parent: "vm2"}
	r.nb.ports[PortName(epID(5))] = nb.Port{Name: PortName(epID(5)), EndpointID: epID(5), NetworkID: nid, Chassis: "host1"}
	r.links.EnsureVLAN(hostnet.VLAN{Name: PeerIfName(gone), Mark: linkMark(gone)})
	known := map[string]bool{held: true}
	if removed, err := r.d.ReconcileNested(ctx, known); err != nil || len(removed) != 0 {
		t.Fatalf("first pass removed %v %v", removed, err)
	}
	r.clock.advance(2 * time.Minute)
	known[late] = true // its container was recorded meanwhile
	removed, err := r.d.ReconcileNested(ctx, known)
	if err != nil || len(removed) != 1 || removed[0] != gone {
		t.Fatalf("removed %v %v, want %s", removed, err, gone)
	}
	if _, ok := r.nb.ports[PortName(gone)]; ok {
		t.Fatal("the orphaned port is still there")
	}
	if len(r.nb.ports) != 4 || len(r.links.vlans) != 0 {
		t.Fatalf("ports %d (want 4), VLANs %v (want none)", len(r.nb.ports), r.links.vlans)
	}
}
