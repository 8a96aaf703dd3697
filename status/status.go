// Package status gathers the operator's view of one host and the OVN it
// talks to: driver-owned networks, this host's endpoints with their OVS
// side, and IPAM usage. It only reads.
package status

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/ipam"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// Report is what `ovn-docker status` prints.
type Report struct {
	Host   Host     `json:"host"`
	OVN    Database `json:"ovn"`
	Docker Database `json:"docker"` // remote "" when not asked

	Networks        []Network  `json:"networks"`
	Endpoints       []Endpoint `json:"endpoints"`        // bound to this host
	RemoteEndpoints int        `json:"remote_endpoints"` // on other hosts
	// Interfaces lists driver-owned OVS interfaces with no logical port:
	// leftovers a crash can leave, which reconciliation removes.
	Interfaces []string `json:"orphan_interfaces"`
	Pools      []Pool   `json:"pools"`
	// Outside is where routed networks leave (ovn-docker gateway set).
	Outside string `json:"outside,omitempty"`
	// Published lists the ports published (docker run -p) on routers, by
	// every host: Docker's own docker port cannot show them.
	Published []Published `json:"published_ports"`
}

// Published is one published port.
type Published struct {
	Router     string `json:"router"`
	Proto      string `json:"protocol"`
	External   string `json:"external"` // router's address:host port
	Internal   string `json:"internal"` // container's address:port
	EndpointID string `json:"endpoint_id"`
}

// Database says whether a database answered.
type Database struct {
	Remote string `json:"remote"`
	Error  string `json:"error,omitempty"`
}

// Host describes this chassis.
type Host struct {
	SystemID string `json:"system_id"`
	// Parent is the VM's logical port when the daemon runs nested in a
	// VM (no OVS: Bridge, DatapathType and OVS stay empty).
	Parent       string   `json:"parent_port,omitempty"`
	Bridge       string   `json:"bridge"`
	DatapathType string   `json:"datapath_type"`
	OVS          Database `json:"ovs"`
}

// Network is one Docker network on OVN.
type Network struct {
	ID       string   `json:"network_id"`
	Switch   string   `json:"logical_switch"`
	Subnets  []string `json:"subnets"`
	MTU      int      `json:"mtu"`
	Internal bool     `json:"internal"`
	Ports    int      `json:"ports"`
	Chassis  string   `json:"chassis"` // whose daemon created it (shared: this host, if it uses it)
	// Shared is the ovn.network name of a switch shared by Hosts hosts.
	Shared string `json:"shared,omitempty"`
	Hosts  int    `json:"hosts"`
	// Router is the ovn.router the network is attached to.
	Router string `json:"router,omitempty"`
	// Policy is what OVN's ACLs enforce on it (icc=false); empty: none.
	Policy string `json:"policy,omitempty"`
	// Stale: created by this host for a network its Docker engine no
	// longer knows; reconciliation removes it after the grace period.
	Stale bool `json:"stale"`
}

// Endpoint is one endpoint on this host.
type Endpoint struct {
	ID           string   `json:"endpoint_id"`
	NetworkID    string   `json:"network_id"`
	LogicalPort  string   `json:"logical_port"`
	IPs          []string `json:"ips"`
	MAC          string   `json:"mac"`
	Interface    string   `json:"ovs_interface"`      // empty when not joined
	Tag          int      `json:"vlan_tag,omitempty"` // nested ports
	OVNInstalled bool     `json:"ovn_installed"`
	Up           bool     `json:"up"`
}

// Pool is one IPAM pool's usage.
type Pool struct {
	ID       string `json:"pool_id"`
	Range    string `json:"range,omitempty"`
	Claimed  int    `json:"claimed"`
	Capacity string `json:"capacity"`
	Chassis  string `json:"chassis"`
	// Stale: created by this host, and no network of its Docker engine
	// uses it any more; reconciliation removes it after the grace period.
	Stale bool `json:"stale"`
}

// NB is what status reads from the Northbound database: the driver's
// switches and ports, and IPAM's pools and claims.
type NB interface {
	Switches(ctx context.Context) ([]*nb.Switch, error)
	Ports(ctx context.Context) ([]*nb.Port, error)
	External(ctx context.Context) (*nb.External, error)
	PublishedPorts(ctx context.Context) ([]nb.Published, error)
}

// IPAM is what status reads of IPAM's rows in the Northbound database.
type IPAM interface {
	Snapshot(ctx context.Context) (*store.Snapshot, error)
	Claims(ctx context.Context) (map[string]int, error)
}

// OVS is what status reads from this host's Open_vSwitch database.
type OVS interface {
	SystemID(ctx context.Context) (string, error)
	Bridge(ctx context.Context, name string) (*local.Bridge, error)
	Interfaces(ctx context.Context) ([]*local.Iface, error)
}

// Options say what to report on.
type Options struct {
	Bridge    string
	NBRemote  string
	OVSRemote string
	// Timeout bounds the reads of each database separately, so one being
	// down does not starve the other's part of the report.
	Timeout time.Duration
	// Docker, when set, is this host's engine: what it no longer knows is
	// marked stale.
	Docker Engine
	// Nested, when set, is the VM's port and the name the nested daemon
	// writes as its chassis (driver.Nested); there is no OVS to read.
	Nested *Nested
}

// Nested says where a VM's daemon is.
type Nested struct{ Parent, Chassis string }

// Engine is what status reads of this host's Docker engine.
type Engine interface {
	Addr() string
	Networks(ctx context.Context) ([]dockerapi.Network, error)
}

// Collect builds the report; an unreachable database is recorded in it,
// and what the other database says is still reported.
func Collect(ctx context.Context, nb NB, pools IPAM, o OVS, opt Options) *Report {
	r := &Report{Host: Host{Bridge: opt.Bridge, OVS: Database{Remote: opt.OVSRemote}}, OVN: Database{Remote: opt.NBRemote}}
	var ifaces map[string]*local.Iface
	if n := opt.Nested; n != nil {
		r.Host = Host{SystemID: n.Chassis, Parent: n.Parent}
	} else {
		octx, cancel := context.WithTimeout(ctx, opt.Timeout)
		ifaces = r.collectOVS(octx, o)
		cancel()
	}
	nctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	r.collectNB(nctx, nb, pools, ifaces)
	cancel()
	if opt.Docker != nil {
		dctx, cancel := context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
		r.markStale(dctx, opt.Docker)
	}
	return r
}

// markStale flags what this host made for networks and pools its Docker
// engine no longer has: leftovers of removals made while the plugin was
// stopped, or whose delete failed.
func (r *Report) markStale(ctx context.Context, e Engine) {
	r.Docker.Remote = e.Addr()
	nets, err := e.Networks(ctx)
	if err != nil {
		r.Docker.Error = err.Error()
		return
	}
	me := r.Host.SystemID
	known, used := dockerapi.Known(nets), ipam.UsedSubnets(nets)
	for i, n := range r.Networks {
		r.Networks[i].Stale = me != "" && n.Chassis == me && !known[n.ID]
	}
	for i, p := range r.Pools {
		_, subnet, err := ipam.ParsePoolID(p.ID)
		r.Pools[i].Stale = err == nil && me != "" && p.Chassis == me && !used[subnet]
	}
}

func (r *Report) collectOVS(ctx context.Context, o OVS) map[string]*local.Iface {
	fail := func(err error) map[string]*local.Iface { r.Host.OVS.Error = err.Error(); return nil }
	id, err := o.SystemID(ctx)
	if err != nil && !errors.Is(err, ovs.ErrNotFound) {
		return fail(err)
	}
	r.Host.SystemID = id
	if br, err := o.Bridge(ctx, r.Host.Bridge); err == nil {
		r.Host.DatapathType = br.DatapathType
		if r.Host.DatapathType == "" {
			r.Host.DatapathType = "system"
		}
	} else if !errors.Is(err, ovs.ErrNotFound) {
		return fail(err)
	}
	list, err := o.Interfaces(ctx)
	if err != nil {
		return fail(err)
	}
	ifaces := map[string]*local.Iface{}
	for _, i := range list {
		ifaces[i.LogicalPort] = i
	}
	return ifaces
}

func (r *Report) collectNB(ctx context.Context, nb NB, pools IPAM, ifaces map[string]*local.Iface) {
	switches, err := nb.Switches(ctx)
	if err != nil {
		r.OVN.Error = err.Error()
		return
	}
	if e, err := nb.External(ctx); err == nil && e != nil {
		r.Outside = e.String()
	}
	for _, s := range switches {
		n := Network{ID: s.NetworkID, Switch: s.Name, Subnets: s.Subnets,
			MTU: s.MTU, Internal: s.Internal, Ports: s.Ports, Chassis: s.Chassis, Shared: s.Shared, Hosts: len(s.Refs), Router: s.Router,
			Policy: s.Policy()}
		for _, ref := range s.Refs {
			if s.Shared != "" && ref.Chassis == r.Host.SystemID {
				n.ID, n.Chassis = ref.NetworkID, ref.Chassis
			}
		}
		r.Networks = append(r.Networks, n)
	}
	sort.Slice(r.Networks, func(i, j int) bool { return r.Networks[i].ID < r.Networks[j].ID })
	ports, err := nb.Ports(ctx)
	if err != nil {
		r.OVN.Error = err.Error()
		return
	}
	r.addEndpoints(ports, ifaces)
	if err := r.addPublished(ctx, nb); err != nil {
		r.OVN.Error = err.Error()
		return
	}
	if err := r.addPools(ctx, pools); err != nil {
		r.OVN.Error = err.Error()
	}
}

func (r *Report) addEndpoints(ports []*nb.Port, ifaces map[string]*local.Iface) {
	known := map[string]bool{}
	for _, p := range ports {
		known[p.Name] = true
		if r.Host.SystemID == "" || p.Home() != r.Host.SystemID {
			r.RemoteEndpoints++
			continue
		}
		e := Endpoint{ID: p.EndpointID, NetworkID: p.NetworkID, LogicalPort: p.Name, IPs: p.IPs, MAC: p.MAC, Up: p.Up, Tag: p.Tag}
		if i := ifaces[p.Name]; i != nil {
			e.Interface, e.OVNInstalled = i.Name, i.Installed
		}
		r.Endpoints = append(r.Endpoints, e)
	}
	sort.Slice(r.Endpoints, func(i, j int) bool { return r.Endpoints[i].ID < r.Endpoints[j].ID })
	for lp, i := range ifaces {
		if !known[lp] {
			r.Interfaces = append(r.Interfaces, i.Name)
		}
	}
	sort.Strings(r.Interfaces)
}

func (r *Report) addPublished(ctx context.Context, nb NB) error {
	pub, err := nb.PublishedPorts(ctx)
	if err != nil {
		return err
	}
	for _, p := range pub {
		r.Published = append(r.Published, Published{Router: p.Router, Proto: p.Proto, External: p.External.String(),
			Internal: p.Internal.String(), EndpointID: p.EndpointID})
	}
	sort.Slice(r.Published, func(i, j int) bool {
		a, b := r.Published[i], r.Published[j]
		return a.Router+"/"+a.EndpointID+"/"+a.External < b.Router+"/"+b.EndpointID+"/"+b.External
	})
	return nil
}

func (r *Report) addPools(ctx context.Context, pools IPAM) error {
	snap, err := pools.Snapshot(ctx)
	if err != nil {
		return err
	}
	claims, err := pools.Claims(ctx)
	if err != nil {
		return err
	}
	for _, p := range snap.Pools {
		pool, err := ipam.NewPool(p.Subnet, p.Range)
		if err != nil {
			continue
		}
		e := Pool{ID: ipam.PoolID(p.Space, p.Subnet), Claimed: claims[p.Name], Capacity: pool.Capacity(), Chassis: p.Chassis}
		if p.Range.IsValid() {
			e.Range = p.Range.String()
		}
		r.Pools = append(r.Pools, e)
	}
	sort.Slice(r.Pools, func(i, j int) bool { return poolLess(r.Pools[i].ID, r.Pools[j].ID) })
	return nil
}

// poolLess orders pools by space, then address.
func poolLess(a, b string) bool {
	sa, pa, _ := strings.Cut(a, "/")
	sb, pb, _ := strings.Cut(b, "/")
	if sa != sb {
		return sa < sb
	}
	x, errx := netip.ParsePrefix(pa)
	y, erry := netip.ParsePrefix(pb)
	if errx != nil || erry != nil {
		return a < b
	}
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c < 0
	}
	return x.Bits() < y.Bits()
}
