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
)

func epID(n int) string { return fmt.Sprintf("%012x%052x", n, 0) }

// twoPasses runs reconciliation twice, the grace period (1 ms here) apart.
func (r *rig) twoPasses(t *testing.T) *ReconcileReport {
	t.Helper()
	if _, err := r.d.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
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
	r.ovs.ifaces[HostIfName(epID(4))] = ovs.Iface{Name: HostIfName(epID(4)), LogicalPort: epID(4), EndpointID: epID(4)}
	r.links.veths[HostIfName(epID(5))] = hostnet.Veth{HostName: HostIfName(epID(5))}
	// Not ours to touch: another chassis' port, a veth named otherwise.
	r.nb.ports["remote"] = ovs.Port{Name: "remote", EndpointID: epID(6), NetworkID: nid, Chassis: "host2"}
	r.links.veths["veth123"] = hostnet.Veth{HostName: "veth123"}

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
	req := netReqID(nid, nil, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24",
		AuxAddresses: map[string]any{"a": "10.77.0.5/24"}})
	if err := r.d.CreateNetwork(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r.joined(t, 1) // 10.77.0.11
	r.nb.switches["other"] = ovs.Switch{NetworkID: "other", Subnets: []string{"10.88.0.0/24"}, Chassis: "host2"}
	got, err := r.d.AddressesInUse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	subnet := netip.MustParsePrefix("10.77.0.0/24")
	if len(got) != 1 || len(got[subnet]) != 3 {
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
	r.d.abandoned.note(nid, unavailable)
	r.d.abandoned.note(epID(9), unavailable)
	r.network(t) // nid created for real by a retry
	r.nb.switches[epID(9)] = ovs.Switch{NetworkID: epID(9), Name: SwitchName(epID(9))}
	rep, err := r.d.Reconcile(ctx)
	if err != nil || !slices.Equal(rep.Switches, []string{epID(9)}) {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, ok := r.nb.switches[nid]; !ok {
		t.Fatal("the retried network's switch was removed")
	}
}
