package driver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// fakes keep the driver's logic testable without OVN; the ovs package and
// the e2e suite test the real thing.
type fakeNB struct {
	mu       sync.Mutex
	switches map[string]nb.Switch
	ports    map[string]nb.Port
}

func (f *fakeNB) EnsureSwitch(_ context.Context, s nb.Switch) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.switches[s.NetworkID]; ok {
		return false, nil
	}
	f.switches[s.NetworkID] = s
	return true, nil
}

func (f *fakeNB) Switch(_ context.Context, id string) (*nb.Switch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.switches[id]; ok {
		if s.Shared == "" {
			s.Refs = []nb.Ref{{NetworkID: s.NetworkID, Chassis: s.Chassis, Aux: s.Aux}}
		}
		return &s, nil
	}
	for _, s := range f.switches {
		for _, r := range s.Refs {
			if s.Shared != "" && r.NetworkID == id {
				return &s, nil
			}
		}
	}
	return nil, ovs.ErrNotFound
}

// EnsureSharedSwitch keeps a shared switch under its name, its refs
// gathered from every host's call.
func (f *fakeNB) EnsureSharedSwitch(_ context.Context, s nb.Switch, mtu int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	have, ok := f.switches[s.Shared]
	if !ok {
		if s.MTU == 0 {
			s.MTU = mtu
		}
		f.switches[s.Shared] = s
		return true, nil
	}
	have.Refs = append(have.Refs, s.Refs...)
	f.switches[s.Shared] = have
	return false, nil
}

func (f *fakeNB) DeleteSwitch(_ context.Context, id, chassis string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.switches[id]; ok {
		delete(f.switches, id)
		return true, nil
	}
	for name, s := range f.switches {
		for i, r := range s.Refs {
			if s.Shared != "" && r.NetworkID == id && r.Chassis == chassis {
				s.Refs = append(s.Refs[:i:i], s.Refs[i+1:]...)
				if len(s.Refs) == 0 {
					delete(f.switches, name)
					return true, nil
				}
				f.switches[name] = s
				return false, nil
			}
		}
	}
	return false, nil
}

func (f *fakeNB) EnsurePort(_ context.Context, sw *nb.Switch, p nb.Port) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if have, ok := f.switches[p.NetworkID]; !ok || have.Name != sw.Name {
		return false, ovs.ErrNotFound
	}
	_, had := f.ports[p.Name]
	f.ports[p.Name] = p
	return !had, nil
}

func (f *fakeNB) BindPort(_ context.Context, name, chassis string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[name]
	if !ok {
		return ovs.ErrNotFound
	}
	p.Chassis = chassis
	f.ports[name] = p
	return nil
}

func (f *fakeNB) Port(_ context.Context, name string) (*nb.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[name]
	if !ok {
		return nil, ovs.ErrNotFound
	}
	return &p, nil
}

func (f *fakeNB) Ports(context.Context) ([]*nb.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*nb.Port
	for _, p := range f.ports {
		p := p
		out = append(out, &p)
	}
	return out, nil
}

func (f *fakeNB) Switches(context.Context) ([]*nb.Switch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*nb.Switch
	for _, s := range f.switches {
		s := s
		if s.Shared == "" {
			s.Refs = []nb.Ref{{NetworkID: s.NetworkID, Chassis: s.Chassis, Aux: s.Aux}}
		}
		out = append(out, &s)
	}
	return out, nil
}

func (f *fakeNB) DeletePort(_ context.Context, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.ports[name]
	delete(f.ports, name)
	return ok, nil
}

type fakeOVS struct {
	mu         sync.Mutex
	bridge     *local.Bridge
	ifaces     map[string]local.Iface
	failAttach error
	installed  error
	systemID   string // "" means host1
}

func (f *fakeOVS) SystemID(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.systemID == "" {
		return "host1", nil
	}
	return f.systemID, nil
}
func (f *fakeOVS) EncapIP(context.Context) (string, error) { return "172.31.0.1", nil }
func (f *fakeOVS) Bridge(_ context.Context, name string) (*local.Bridge, error) {
	if f.bridge == nil || f.bridge.Name != name {
		return nil, ovs.ErrNotFound
	}
	return f.bridge, nil
}

func (f *fakeOVS) EnsureInterface(_ context.Context, _ string, i local.Iface) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAttach != nil {
		return false, f.failAttach
	}
	_, had := f.ifaces[i.Name]
	f.ifaces[i.Name] = i
	return !had, nil
}

func (f *fakeOVS) Interface(_ context.Context, name string) (*local.Iface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.ifaces[name]
	if !ok {
		return nil, ovs.ErrNotFound
	}
	return &i, nil
}

func (f *fakeOVS) Interfaces(context.Context) ([]*local.Iface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*local.Iface
	for _, i := range f.ifaces {
		i := i
		out = append(out, &i)
	}
	return out, nil
}

func (f *fakeOVS) DeleteInterface(_ context.Context, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.ifaces[name]
	delete(f.ifaces, name)
	return ok, nil
}

func (f *fakeOVS) WaitInstalled(context.Context, string, time.Duration) error { return f.installed }

type fakeLinks struct {
	mu          sync.Mutex
	veths       map[string]hostnet.Veth
	retired     map[string]bool
	moved       map[string]bool // peer moved into a container
	underlayErr error           // what UnderlayMTU answers, if set
}

func (f *fakeLinks) Veths(prefix string) ([]hostnet.VethInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hostnet.VethInfo
	for name := range f.veths {
		if strings.HasPrefix(name, prefix) {
			out = append(out, hostnet.VethInfo{Name: name, PeerElsewhere: f.moved[name], Retired: f.retired[name],
				Mark: f.veths[name].Mark})
		}
	}
	return out, nil
}

func (f *fakeLinks) Retire(name, mark string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.veths[name]; ok {
		if v.Mark != mark {
			return hostnet.ErrNotOurs
		}
		f.retired[name] = true
	}
	return nil
}

func (f *fakeLinks) DeleteRetired() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.retired {
		delete(f.veths, name)
	}
	f.retired = map[string]bool{}
	return nil
}

func (f *fakeLinks) EnsureVeth(v hostnet.Veth) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.veths[v.HostName] = v
	return nil
}

func (f *fakeLinks) DeleteLink(name, mark string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.veths[name]; ok && v.Mark != mark {
		return hostnet.ErrNotOurs
	}
	delete(f.veths, name)
	return nil
}

func (f *fakeLinks) UnderlayMTU(string) (int, error) {
	if f.underlayErr != nil {
		return 0, f.underlayErr
	}
	return 1500, nil
}

type rig struct {
	d     *Driver
	nb    *fakeNB
	ovs   *fakeOVS
	links *fakeLinks
	clock *fakeClock
}

// fakeClock is the time reconciliation sees: tests move it, nothing sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newRig(t *testing.T) *rig {
	r := &rig{
		nb:    &fakeNB{switches: map[string]nb.Switch{}, ports: map[string]nb.Port{}},
		ovs:   &fakeOVS{bridge: &local.Bridge{Name: "br-int", DatapathType: "netdev"}, ifaces: map[string]local.Iface{}},
		links: &fakeLinks{veths: map[string]hostnet.Veth{}, retired: map[string]bool{}, moved: map[string]bool{}},
		clock: &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	r.d = New(r.nb, r.ovs, r.links, Config{Bridge: "br-int", ReadyTimeout: time.Second, OrphanGrace: time.Minute,
		Log: log, Now: r.clock.Now})
	t.Cleanup(r.d.Close)
	return r
}

const (
	nid = "f783e94b14dbeed627d30b78715394fb2f6d9d45dabd41a276527b8a753bcf8f"
	eid = "0ba3fc4a3da1f9f453340558f9df4e94f84ab7c24c691aa961ef7388c4b2c9bd"
)

func (r *rig) network(t *testing.T) {
	t.Helper()
	err := r.d.CreateNetwork(context.Background(), netReqID(nid, nil, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24"}))
	if err != nil {
		t.Fatal(err)
	}
}

func netReqID(id string, generic map[string]any, v4 ...*network.IPAMData) *network.CreateNetworkRequest {
	r := netReq(generic, v4...)
	r.NetworkID = id
	return r
}

func (r *rig) endpoint(t *testing.T, mac string) *network.CreateEndpointResponse {
	t.Helper()
	resp, err := r.d.CreateEndpoint(context.Background(), &network.CreateEndpointRequest{NetworkID: nid, EndpointID: eid,
		Interface: &network.EndpointInterface{Address: "10.77.0.3/24", MacAddress: mac}})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

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
