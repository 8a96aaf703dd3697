package driver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/grace"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

func epID(n int) string { return fmt.Sprintf("%012x%052x", n, 0) }

// twoPasses runs reconciliation twice, the grace period apart.
func (r *rig) twoPasses(t *testing.T) *ReconcileReport {
	t.Helper()
	if _, err := r.d.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(time.Minute)
	rep, err := r.d.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// joined makes endpoint n as Docker would, the peer moved into a container.
func (r *rig) joined(t *testing.T, n int) string {
	t.Helper()
	id := epID(n)
	ctx := context.Background()
	if _, err := r.d.CreateEndpoint(ctx, &network.CreateEndpointRequest{NetworkID: nid, EndpointID: id,
		Interface: &network.EndpointInterface{Address: fmt.Sprintf("10.77.0.%d/24", 10+n)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.Join(ctx, &network.JoinRequest{NetworkID: nid, EndpointID: id}); err != nil {
		t.Fatal(err)
	}
	r.links.moved[HostIfName(id)] = true
	return id
}

func TestReconcileKeepsWhatIsInUse(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.joined(t, 1)
	rep := r.twoPasses(t)
	if rep.Endpoints != 1 || len(rep.Removed) != 0 {
		t.Fatalf("%+v", rep)
	}
}

func TestReconcileRemovesOrphans(t *testing.T) {
	r := newRig(t)
	r.network(t)
	ctx := context.Background()
	keep := r.joined(t, 1)
	// 2: created, never joined (Join lost). 3: joined, then Docker moved the
	// peer back and Leave was lost.
	if _, err := r.d.CreateEndpoint(ctx, &network.CreateEndpointRequest{NetworkID: nid, EndpointID: epID(2)}); err != nil {
		t.Fatal(err)
	}
	r.joined(t, 3)
	r.links.moved[HostIfName(epID(3))] = false
	// 4: an OVS port whose logical port is gone. 5: a lone veth of ours.
	r.ovs.ifaces[HostIfName(epID(4))] = local.Iface{Name: HostIfName(epID(4)), LogicalPort: epID(4), EndpointID: epID(4)}
	r.links.veths[HostIfName(epID(5))] = hostnet.Veth{HostName: HostIfName(epID(5)), Mark: linkMark(epID(5))}
	// Not ours to touch: another chassis' port, a veth named otherwise, a
	// veth named our way but without our mark.
	r.nb.ports["remote"] = nb.Port{Name: "remote", EndpointID: epID(6), NetworkID: nid, Chassis: "host2"}
	r.links.veths["veth123"] = hostnet.Veth{HostName: "veth123"}
	r.links.veths[HostIfName(epID(7))] = hostnet.Veth{HostName: HostIfName(epID(7))}

	rep := r.twoPasses(t)
	want := []string{HostIfName(epID(2)), HostIfName(epID(3)), HostIfName(epID(4)), HostIfName(epID(5))}
	if !slices.Equal(rep.Removed, want) {
		t.Fatalf("removed %v, want %v", rep.Removed, want)
	}
	r.d.Close()
	for _, id := range []string{epID(2), epID(3), epID(4), epID(5)} {
		if _, ok := r.nb.ports[id]; ok {
			t.Errorf("logical port %s left", id[:12])
		}
		if _, ok := r.ovs.ifaces[HostIfName(id)]; ok {
			t.Errorf("OVS port of %s left", id[:12])
		}
		if _, ok := r.links.veths[HostIfName(id)]; ok {
			t.Errorf("veth of %s left", id[:12])
		}
	}
	if _, ok := r.nb.ports[keep]; !ok {
		t.Error("the endpoint in use was removed")
	}
	if _, ok := r.nb.ports["remote"]; !ok {
		t.Error("another chassis' port was removed")
	}
	if _, ok := r.links.veths["veth123"]; !ok {
		t.Error("a veth not named by ovn-docker was removed")
	}
	if _, ok := r.links.veths[HostIfName(epID(7))]; !ok {
		t.Error("a veth without ovn-docker's mark was removed")
	}
}

// A changed system-id must not make running containers' ports look like
// another host's, and their local pieces like orphans; the ports are bound
// to the new chassis name instead.
func TestReconcileKeepsRunningContainersWhenTheSystemIDChanges(t *testing.T) {
	r := newRig(t)
	r.network(t)
	id := r.joined(t, 1)
	r.ovs.mu.Lock()
	r.ovs.systemID = "host1-renamed"
	r.ovs.mu.Unlock()
	rep := r.twoPasses(t)
	if len(rep.Removed) != 0 || !slices.Equal(rep.Rehomed, []string{HostIfName(id)}) {
		t.Fatalf("%+v", rep)
	}
	if p := r.nb.ports[id]; p.Chassis != "host1-renamed" {
		t.Fatalf("port not bound to the new chassis name: %+v", p)
	}
	if _, ok := r.links.veths[HostIfName(id)]; !ok {
		t.Fatal("a running container's veth was removed")
	}
	if rep := r.twoPasses(t); rep.Endpoints != 1 || len(rep.Rehomed)+len(rep.Removed) != 0 {
		t.Fatalf("after rehoming: %+v", rep)
	}
}

// Docker removes a network without telling the plugin while it is down:
// reconciliation removes the switch this host made once Docker's list has
// lacked it for the grace period, and never another host's.
func TestReconcileNetworksRemovesWhatDockerForgot(t *testing.T) {
	r := newRig(t)
	r.network(t)
	ctx := context.Background()
	r.nb.switches["theirs"] = nb.Switch{NetworkID: "theirs", Name: SwitchName("theirs"), Chassis: "host2"}
	r.nb.switches["kept"] = nb.Switch{NetworkID: "kept", Name: SwitchName("kept"), Chassis: "host1"}
	known := map[string]bool{"kept": true}
	if got, err := r.d.ReconcileNetworks(ctx, known); err != nil || len(got) != 0 {
		t.Fatalf("first pass removed %v, %v", got, err)
	}
	r.clock.advance(30 * time.Second)
	if got, _ := r.d.ReconcileNetworks(ctx, known); len(got) != 0 {
		t.Fatalf("removed within the grace period: %v", got)
	}
	r.clock.advance(30 * time.Second)
	got, err := r.d.ReconcileNetworks(ctx, known)
	if err != nil || !slices.Equal(got, []string{nid}) {
		t.Fatalf("removed %v, %v; want the forgotten network", got, err)
	}
	for _, id := range []string{"theirs", "kept"} {
		if _, ok := r.nb.switches[id]; !ok {
			t.Errorf("switch of %s removed", id)
		}
	}
}

// A network Docker lists again before the grace period ends is kept: the
// list a moment after CreateNetwork may not have it yet.
func TestReconcileNetworksForgivesAMomentaryAbsence(t *testing.T) {
	r := newRig(t)
	r.network(t)
	ctx := context.Background()
	r.d.ReconcileNetworks(ctx, nil)
	r.clock.advance(50 * time.Second)
	r.d.ReconcileNetworks(ctx, map[string]bool{nid: true})
	r.clock.advance(50 * time.Second)
	if got, _ := r.d.ReconcileNetworks(ctx, nil); len(got) != 0 {
		t.Fatalf("removed %v though Docker listed it in between", got)
	}
}

func TestReconcileWaitsForTheGracePeriod(t *testing.T) {
	r := newRig(t)
	r.d.orphans = grace.New(time.Hour)
	r.network(t)
	if _, err := r.d.CreateEndpoint(context.Background(), &network.CreateEndpointRequest{NetworkID: nid, EndpointID: epID(2)}); err != nil {
		t.Fatal(err)
	}
	if rep := r.twoPasses(t); len(rep.Removed) != 0 {
		t.Fatalf("removed within the grace period: %v", rep.Removed)
	}
}

func TestReconcileRepairsALostOVSPort(t *testing.T) {
	r := newRig(t)
	r.network(t)
	id := r.joined(t, 1)
	delete(r.ovs.ifaces, HostIfName(id))
	rep := r.twoPasses(t)
	if len(rep.Repaired) != 1 {
		t.Fatalf("%+v", rep)
	}
	if i := r.ovs.ifaces[HostIfName(id)]; i.LogicalPort != id {
		t.Fatalf("OVS port not put back: %+v", i)
	}
}

func TestAddressesInUse(t *testing.T) {
	r := newRig(t)
	req := netReqID(nid, nil, &network.IPAMData{AddressSpace: "ovnlocal", Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24",
		AuxAddresses: map[string]any{"a": "10.77.0.5/24"}})
	if err := r.d.CreateNetwork(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r.joined(t, 1) // 10.77.0.11
	// The same subnet in another host's network, and in one on Docker's
	// own IPAM: neither may lend its pool ID to ours or take ours.
	r.nb.switches["other"] = nb.Switch{NetworkID: "other", Subnets: []string{"10.77.0.0/24"}, Chassis: "host2",
		Pools: []string{"ovnlocal/10.77.0.0/24"}}
	r.nb.switches["dflt"] = nb.Switch{NetworkID: "dflt", Subnets: []string{"10.77.0.0/24"}, Chassis: "host1",
		Pools: []string{"LocalDefault/10.77.0.0/24"}}
	got, err := r.d.AddressesInUse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	subnet := "ovnlocal/10.77.0.0/24"
	if len(got) != 2 || len(got[subnet]) != 3 || len(got["LocalDefault/10.77.0.0/24"]) != 0 {
		t.Fatalf("in use %v", got)
	}
	for _, a := range []string{"10.77.0.1", "10.77.0.5", "10.77.0.11"} {
		if !got[subnet][netip.MustParseAddr(a)] {
			t.Errorf("%s not in use", a)
		}
	}
}

// A CreateNetwork that failed for want of an answer may still create its
// switch later (a frozen NB wakes up); reconciliation removes it, and
// leaves alone a network whose create was retried and succeeded.
func TestReconcileSweepsAbandonedSwitches(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	unavailable := fmt.Errorf("create: %w", ovs.ErrUnavailable)
	r.d.abandoned.note(nid, unavailable, r.clock.Now())
	r.d.abandoned.note(epID(9), unavailable, r.clock.Now())
	r.network(t) // nid created for real by a retry
	r.nb.switches[epID(9)] = nb.Switch{NetworkID: epID(9), Name: SwitchName(epID(9))}
	rep, err := r.d.Reconcile(ctx)
	if err != nil || !slices.Equal(rep.Switches, []string{epID(9)}) {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, ok := r.nb.switches[nid]; !ok {
		t.Fatal("the retried network's switch was removed")
	}
}
