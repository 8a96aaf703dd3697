package driver

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// fakes keep the driver's logic testable without OVN; the ovs package and
// the e2e suite test the real thing.
type fakeNB struct {
	mu           sync.Mutex
	switches     map[string]nb.Switch
	ports        map[string]nb.Port
	chassisWaits int
	chassisErrs  []error // what the next WaitChassis calls return, in turn
	routerErr    error   // what EnsureRouterPort returns
	published    map[string][]nb.Published
}

// Publish publishes on 192.0.2.1, host port as given or 32768.
func (f *fakeNB) Publish(_ context.Context, router, eid string, ip netip.Addr, bs []nb.Binding) ([]nb.Published, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []nb.Published
	for _, b := range bs {
		hp := b.HostPort
		if hp == 0 {
			hp = 32768
		}
		out = append(out, nb.Published{EndpointID: eid, Router: router, Proto: b.Proto,
			External: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), hp), Internal: netip.AddrPortFrom(ip, b.Port)})
	}
	if f.published == nil {
		f.published = map[string][]nb.Published{}
	}
	f.published[eid] = out
	return out, nil
}

func (f *fakeNB) Unpublish(_ context.Context, eid string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, had := f.published[eid]
	delete(f.published, eid)
	return had, nil
}

func (f *fakeNB) PrunePortGroups(context.Context) ([]string, error) { return nil, nil }

func (f *fakeNB) EnsureExposed(context.Context, *nb.Switch, nb.Port) error { return nil }

// WaitTag gives a nested port tag 7, as northd would.
func (f *fakeNB) WaitTag(_ context.Context, name string, _ time.Duration) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[name]
	if !ok {
		return 0, ovs.ErrNotFound
	}
	if p.Tag == 0 {
		p.Tag = 7
		f.ports[name] = p
	}
	return p.Tag, nil
}

func (f *fakeNB) PrunePublished(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var gone []string
	for eid := range f.published {
		if _, ok := f.ports[PortName(eid)]; !ok {
			delete(f.published, eid)
			gone = append(gone, eid)
		}
	}
	return gone, nil
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

// EnsureRouterPort: the fake's routers are the switches' Router field.
func (f *fakeNB) EnsureRouterPort(context.Context, *nb.Switch) error { return f.routerErr }

func (f *fakeNB) PruneRouters(context.Context) ([]string, error) { return nil, nil }

func (f *fakeNB) EnsureUplinks(context.Context) ([]string, error) { return nil, nil }

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
	key := p.NetworkID
	if sw.Shared != "" {
		key = sw.Shared
	}
	if have, ok := f.switches[key]; !ok || have.Name != sw.Name {
		return false, ovs.ErrNotFound
	}
	_, had := f.ports[p.Name]
	f.ports[p.Name] = p
	return !had, nil
}

func (f *fakeNB) PortWithAddress(_ context.Context, s *nb.Switch, ip, endpointID string) (*nb.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.ports {
		for _, r := range s.Refs {
			if p.NetworkID == r.NetworkID && p.EndpointID != endpointID && slices.Contains(p.IPs, ip) {
				return &p, nil
			}
		}
	}
	return nil, nil
}

func (f *fakeNB) WaitChassis(context.Context, time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chassisWaits++
	if len(f.chassisErrs) == 0 {
		return nil
	}
	err := f.chassisErrs[0]
	f.chassisErrs = f.chassisErrs[1:]
	return err
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
	bfdDown    []string
	bfdErr     error // what WaitBFD answers
	bfdWaits   int
}

func (f *fakeOVS) BFDDown(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bfdDown, nil
}

func (f *fakeOVS) WaitBFD(context.Context, []string, time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bfdWaits++
	if f.bfdErr == nil {
		f.bfdDown = nil
	}
	return f.bfdErr
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
	vlans       map[string]hostnet.VLAN
}

func (f *fakeLinks) EnsureVLAN(v hostnet.VLAN) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vlans == nil {
		f.vlans = map[string]hostnet.VLAN{}
	}
	f.vlans[v.Name] = v
	return nil
}

func (f *fakeLinks) LinkMTU(string) (int, error) { return 1442, nil }

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
	if v, ok := f.vlans[name]; ok && v.Mark != mark {
		return hostnet.ErrNotOurs
	}
	delete(f.veths, name)
	delete(f.vlans, name)
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
