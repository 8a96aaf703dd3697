package driver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

func TestCreateNetworkDefaultsMTUToUnderlayMinusGeneve(t *testing.T) {
	r := newRig(t)
	r.network(t)
	if s := r.nb.switches[nid]; s.MTU != 1442 || s.Name != "docker-f783e94b14db" {
		t.Fatalf("switch %+v", s)
	}
}

func TestCreateEndpointReturnsOnlyWhatDockerLeftEmpty(t *testing.T) {
	r := newRig(t)
	r.network(t)
	resp := r.endpoint(t, "")
	if resp.Interface == nil || resp.Interface.MacAddress != "0a:58:0a:4d:00:03" || resp.Interface.Address != "" {
		t.Fatalf("reply without MAC from Docker: %+v", resp.Interface)
	}
	if resp := r.endpoint(t, "02:42:0a:4d:00:03"); resp.Interface != nil {
		t.Fatalf("reply echoes Docker's MAC: %+v", resp.Interface)
	}
	if p := r.nb.ports[eid]; p.MAC != "02:42:0a:4d:00:03" || p.Chassis != "host1" {
		t.Fatalf("port %+v", p)
	}
}

func TestCreateEndpointRefusesAddressOutsideNetwork(t *testing.T) {
	r := newRig(t)
	r.network(t)
	_, err := r.d.CreateEndpoint(context.Background(), &network.CreateEndpointRequest{NetworkID: nid, EndpointID: eid,
		Interface: &network.EndpointInterface{Address: "10.99.0.3/24"}})
	if !errors.Is(err, ErrInvalid) || len(r.nb.ports) != 0 {
		t.Fatalf("got %v, ports %v", err, r.nb.ports)
	}
}

func TestCreateEndpointOnUnknownNetwork(t *testing.T) {
	r := newRig(t)
	_, err := r.d.CreateEndpoint(context.Background(), &network.CreateEndpointRequest{NetworkID: nid, EndpointID: eid})
	if err == nil || !strings.Contains(err.Error(), "not known to the openvswitch driver") {
		t.Fatalf("got %v", err)
	}
}

func TestJoinPlugsAndLeaveUnplugs(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.endpoint(t, "02:42:0a:4d:00:03")
	r.ovs.installed = errors.New("slow controller") // must not fail the join
	resp, err := r.d.Join(context.Background(), &network.JoinRequest{NetworkID: nid, EndpointID: eid})
	if err != nil {
		t.Fatal(err)
	}
	if resp.InterfaceName.SrcName != PeerIfName(eid) || resp.InterfaceName.DstPrefix != "eth" || resp.Gateway != "" {
		t.Fatalf("join reply %+v", resp)
	}
	v := r.links.veths[HostIfName(eid)]
	if v.MTU != 1442 || !v.TxChecksumOff || v.PeerMAC.String() != "02:42:0a:4d:00:03" || v.PeerName != PeerIfName(eid) {
		t.Fatalf("veth %+v", v)
	}
	if i := r.ovs.ifaces[HostIfName(eid)]; i.LogicalPort != eid || i.MAC != "02:42:0a:4d:00:03" {
		t.Fatalf("ovs interface %+v", i)
	}
	for n := 0; n < 2; n++ {
		if err := r.d.Leave(context.Background(), &network.LeaveRequest{NetworkID: nid, EndpointID: eid}); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.ovs.ifaces) != 0 {
		t.Fatalf("OVS port left after Leave returned: %v", r.ovs.ifaces)
	}
	r.d.Close() // the veth goes in the background
	if len(r.links.veths) != 0 {
		t.Fatalf("left behind: %v %v", r.links.veths, r.ovs.ifaces)
	}
}

func TestJoinKernelDatapathKeepsOffload(t *testing.T) {
	r := newRig(t)
	r.ovs.bridge.DatapathType = "system"
	r.network(t)
	r.endpoint(t, "")
	if _, err := r.d.Join(context.Background(), &network.JoinRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	if r.links.veths[HostIfName(eid)].TxChecksumOff {
		t.Fatal("offload turned off on the kernel datapath")
	}
}

func TestJoinRollsBackOnFailure(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.endpoint(t, "")
	r.ovs.failAttach = errors.New("boom")
	_, err := r.d.Join(context.Background(), &network.JoinRequest{NetworkID: nid, EndpointID: eid})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v", err)
	}
	if len(r.links.veths) != 0 {
		t.Fatalf("veth left after failed join: %v", r.links.veths)
	}
}

func TestJoinWithoutBridge(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.endpoint(t, "")
	r.ovs.bridge = nil
	_, err := r.d.Join(context.Background(), &network.JoinRequest{NetworkID: nid, EndpointID: eid})
	if err == nil || !strings.Contains(err.Error(), "integration bridge br-int does not exist") {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownIDsAreHarmless(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.d.Leave(ctx, &network.LeaveRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	if err := r.d.DeleteEndpoint(ctx, &network.DeleteEndpointRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	if err := r.d.DeleteNetwork(ctx, &network.DeleteNetworkRequest{NetworkID: nid}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.Join(ctx, &network.JoinRequest{NetworkID: nid, EndpointID: eid}); err == nil || !strings.Contains(err.Error(), "not known") {
		t.Fatalf("join of unknown endpoint: %v", err)
	}
}

func TestDeleteEndpointAlsoUnplugs(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.endpoint(t, "")
	ctx := context.Background()
	if _, err := r.d.Join(ctx, &network.JoinRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	// Leave never came: DeleteEndpoint cleans the host side too.
	if err := r.d.DeleteEndpoint(ctx, &network.DeleteEndpointRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	if len(r.links.veths)+len(r.ovs.ifaces)+len(r.nb.ports) != 0 {
		t.Fatalf("left behind: %v %v %v", r.links.veths, r.ovs.ifaces, r.nb.ports)
	}
}

func TestRejoinWaitsForRetiredVeth(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.endpoint(t, "")
	ctx := context.Background()
	req := &network.JoinRequest{NetworkID: nid, EndpointID: eid}
	if _, err := r.d.Join(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Leave(ctx, &network.LeaveRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	// The re-join must wait for the batch that deletes the retired veth;
	// otherwise that batch would delete the re-joined one.
	if _, err := r.d.Join(ctx, req); err != nil {
		t.Fatal(err)
	}
	r.d.Close()
	if _, ok := r.links.veths[HostIfName(eid)]; !ok {
		t.Fatal("the re-joined veth was deleted by the earlier batch")
	}
}

// Current engines read GwAllocChecker and DstName; 20.10 ignores both.
func TestNewerProtocol(t *testing.T) {
	r := newRig(t)
	if c := r.d.GetCapabilities(); !c.GwAllocChecker || c.Scope != "local" {
		t.Fatalf("capabilities %+v", c)
	}
	ctx := context.Background()
	for internal, want := range map[bool]bool{false: false, true: true} {
		resp, err := r.d.GwAllocCheck(ctx, &GwAllocCheckRequest{Options: map[string]any{
			"com.docker.network.internal": internal, "com.docker.network.enable_ipv4": true}})
		if err != nil || resp.SkipIPv4 != want || resp.SkipIPv6 != want {
			t.Errorf("GwAllocCheck(internal=%v) = %+v, %v; want skip=%v", internal, resp, err, want)
		}
	}
	r.network(t)
	_, err := r.d.CreateEndpoint(ctx, &network.CreateEndpointRequest{NetworkID: nid, EndpointID: eid,
		Interface: &network.EndpointInterface{Address: "10.77.0.3/24"},
		Options:   map[string]any{"com.docker.network.endpoint.ifname": "foo0"}})
	if err != nil {
		t.Fatal(err)
	}
	join, err := r.d.Join(ctx, &network.JoinRequest{NetworkID: nid, EndpointID: eid})
	if err != nil || join.InterfaceName.DstName != "foo0" || join.InterfaceName.DstPrefix != "eth" {
		t.Fatalf("Join = %+v, %v; want DstName foo0 and DstPrefix eth for older engines", join, err)
	}
	for _, bad := range []any{"", "sixteen-chars-xx", "a/b", "a:b", "a b", "..", 7} {
		_, err := r.d.CreateEndpoint(ctx, &network.CreateEndpointRequest{NetworkID: nid, EndpointID: epID(40),
			Interface: &network.EndpointInterface{Address: "10.77.0.40/24"},
			Options:   map[string]any{"com.docker.network.endpoint.ifname": bad}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ifname %#v: %v", bad, err)
		}
		usererrtest.Check(t, err, "interface name")
	}
}
