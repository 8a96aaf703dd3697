package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// An endpoint has up to three pieces on this host, all named from its ID:
// the logical port, the OVS port on the bridge, and the veth marked as
// ours. It is in use exactly when the logical port and the veth exist and
// the veth's other end is in another network namespace: Docker moved it
// into a container. Anything else is a call in flight (CreateEndpoint
// before Join, Leave before DeleteEndpoint: milliseconds) or a leftover of
// a crash or a lost call. Reconcile removes the pieces of an endpoint only
// after it has looked unused on every pass for the orphan grace period,
// and only pieces carrying our marks. A logical port counts as this host's
// when it is bound to this chassis or when this host holds its OVS port or
// veth, so a changed system-id never makes a running container's port look
// like another host's and its local pieces like orphans.
type pieces struct {
	port  *nb.Port
	iface *local.Iface
	veth  *hostnet.VethInfo
}

func (p pieces) endpointID() string {
	switch {
	case p.port != nil:
		return p.port.EndpointID
	case p.iface != nil:
		return p.iface.EndpointID
	case p.veth != nil:
		id, _ := markedEndpoint(p.veth.Mark)
		return id
	}
	return ""
}

// inUse: a container holds the veth, and OVN knows the port.
func (p pieces) inUse() bool {
	return p.port != nil && p.veth != nil && p.veth.PeerElsewhere
}

// ReconcileReport says what a pass found and did.
type ReconcileReport struct {
	Endpoints int      // endpoints of this host in use
	Repaired  []string // OVS ports put back under containers that lost them
	Rehomed   []string // ports of running containers bound again to this chassis
	Removed   []string // host interface names of endpoints cleaned up
	Switches  []string // networks whose failed creation had left a switch
	Routers   []string // router ports of switches deleted behind the driver's back
	Published []string // load balancers of endpoints that are gone
}

// Keys of the tracked suspects that are to be mended rather than removed.
const (
	repairKey = "repair "
	rehomeKey = "rehome "
)

// Reconcile cleans what crashes and lost calls left on this host. A
// running container whose OVS port went missing gets it back, and one
// whose port is bound to another chassis name (system-id changed) is bound
// to this one again; both wait for the grace period too, since Docker tears
// a container down with its veth still inside it, and Leave removes the
// OVS port first.
func (d *Driver) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	swept, err := d.sweepAbandoned(ctx)
	if err != nil {
		return nil, err
	}
	chassis, all, err := d.survey(ctx)
	if err != nil {
		return nil, err
	}
	r := &ReconcileReport{Switches: swept}
	if r.Routers, err = d.nb.PruneRouters(ctx); err != nil {
		return nil, err
	}
	for _, p := range r.Routers {
		d.cfg.Log.WithField("router_port", p).Warn("reconcile: removed the router port of a switch deleted by hand")
	}
	if r.Published, err = d.nb.PrunePublished(ctx); err != nil {
		return nil, err
	}
	pgs, err := d.nb.PrunePortGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, pg := range pgs {
		d.cfg.Log.WithField("policy", pg).Info("reconcile: removed the policy of a removed network or endpoint")
	}
	for _, lb := range r.Published {
		d.cfg.Log.WithField("load_balancer", lb).Info("reconcile: removed the published ports of a removed endpoint")
	}
	given, err := d.nb.EnsureUplinks(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range given {
		d.cfg.Log.WithField("router", name).Info("reconcile: router given an uplink to the outside set since it was made")
	}
	var suspects []string
	for host, p := range all {
		switch {
		case p.veth != nil && p.veth.Retired:
			// The reaper owns it.
		case p.inUse() && p.iface == nil:
			suspects = append(suspects, repairKey+host)
		case p.inUse() && p.port.Chassis != chassis:
			suspects = append(suspects, rehomeKey+host)
		case p.inUse():
			r.Endpoints++
		default:
			suspects = append(suspects, host)
		}
	}
	for _, key := range d.orphans.Observe(suspects, d.cfg.Now()) {
		if err := d.settleKey(ctx, key, all, r); err != nil {
			return r, err
		}
	}
	sort.Strings(r.Removed)
	return r, nil
}

func (d *Driver) settleKey(ctx context.Context, key string, all map[string]*pieces, r *ReconcileReport) error {
	host, kind := key, ""
	for _, k := range []string{repairKey, rehomeKey} {
		if h, ok := strings.CutPrefix(key, k); ok {
			host, kind = h, k
		}
	}
	acted, err := d.settle(ctx, host, all[host], kind)
	switch {
	case err != nil || !acted:
	case kind == repairKey:
		r.Repaired = append(r.Repaired, host)
	case kind == rehomeKey:
		r.Rehomed = append(r.Rehomed, host)
	default:
		r.Removed = append(r.Removed, host)
	}
	return err
}

// settle re-checks one endpoint under its lock, so no call has picked it up
// since the survey, then mends or removes it. It reports whether it acted.
func (d *Driver) settle(ctx context.Context, host string, was *pieces, kind string) (bool, error) {
	if id := was.endpointID(); id != "" {
		defer d.locks.lock("ep/" + id)()
	}
	chassis, all, err := d.survey(ctx)
	if err != nil {
		return false, err
	}
	p := all[host]
	switch {
	case p == nil || (p.veth != nil && p.veth.Retired):
		return false, nil
	case kind == repairKey && p.inUse() && p.iface == nil:
		return true, d.replug(ctx, p)
	case kind == rehomeKey && p.inUse() && p.port.Chassis != chassis:
		return true, d.rehome(ctx, p, chassis)
	case kind == "" && !p.inUse():
		return true, d.clean(ctx, host, p)
	}
	return false, nil
}

// survey gathers this host's pieces of every endpoint, by host interface
// name, and says which chassis this host is.
func (d *Driver) survey(ctx context.Context) (string, map[string]*pieces, error) {
	chassis, err := d.chassisID(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("read this host's system-id: %w", err)
	}
	if d.cfg.Nested != nil {
		// A nested port has no piece here once Docker moved its VLAN
		// interface into a container: what is in use cannot be told from
		// what is left from here yet (docs/nested.md#reconciliation).
		return chassis, map[string]*pieces{}, nil
	}
	ports, err := d.nb.Ports(ctx)
	if err != nil {
		return "", nil, err
	}
	ifaces, err := d.ovs.Interfaces(ctx)
	if err != nil {
		return "", nil, err
	}
	veths, err := d.links.Veths(hostIfPrefix)
	if err != nil {
		return "", nil, err
	}
	byEndpoint := make(map[string]*nb.Port, len(ports))
	all := map[string]*pieces{}
	get := func(host string) *pieces {
		if all[host] == nil {
			all[host] = &pieces{}
		}
		return all[host]
	}
	for _, p := range ports {
		byEndpoint[p.EndpointID] = p
		if p.Chassis == chassis {
			get(HostIfName(p.EndpointID)).port = p
		}
	}
	for _, i := range ifaces {
		if HostIfName(i.EndpointID) == i.Name {
			pc := get(i.Name)
			pc.iface, pc.port = i, byEndpoint[i.EndpointID]
		}
	}
	for i := range veths {
		if id, ok := markedEndpoint(veths[i].Mark); ok && HostIfName(id) == veths[i].Name {
			pc := get(veths[i].Name)
			pc.veth, pc.port = &veths[i], byEndpoint[id]
		}
	}
	return chassis, all, nil
}

// markedEndpoint reads the endpoint ID out of a veth's mark (linkMark).
func markedEndpoint(mark string) (string, bool) {
	id, ok := strings.CutPrefix(mark, linkMark(""))
	return id, ok && idPattern.MatchString(id)
}

// replug puts a container's veth back on the bridge after someone removed
// its OVS port: the container is running and its logical port exists.
func (d *Driver) replug(ctx context.Context, p *pieces) error {
	host := HostIfName(p.port.EndpointID)
	_, err := d.ovs.EnsureInterface(ctx, d.cfg.Bridge, local.Iface{
		Name: host, LogicalPort: p.port.Name, MAC: p.port.MAC, EndpointID: p.port.EndpointID})
	if err != nil {
		return fmt.Errorf("re-attach %s: %w", host, err)
	}
	d.cfg.Log.WithFields(map[string]any{"endpoint": p.port.EndpointID, "interface": host}).
		Warn("reconcile: put back the OVS port of a running container")
	return nil
}

// rehome binds a running container's port to this chassis again, after
// this host's system-id changed under it.
func (d *Driver) rehome(ctx context.Context, p *pieces, chassis string) error {
	if err := d.nb.BindPort(ctx, p.port.Name, chassis); err != nil {
		return err
	}
	d.cfg.Log.WithFields(map[string]any{"endpoint": p.port.EndpointID, "chassis": chassis, "was": p.port.Chassis}).
		Warn("reconcile: bound a running container's port to this host's new system-id")
	return nil
}

// clean removes an orphan endpoint's pieces from this host and OVN.
func (d *Driver) clean(ctx context.Context, host string, p *pieces) error {
	if id := p.endpointID(); id != "" {
		if err := d.detach(ctx, id); err != nil && !errors.Is(err, ovs.ErrNotFound) {
			return err
		}
	}
	if p.port != nil {
		if _, err := d.nb.DeletePort(ctx, p.port.Name); err != nil {
			return err
		}
	}
	d.cfg.Log.WithFields(map[string]any{"endpoint": p.endpointID(), "interface": host, "logical_port": p.port != nil,
		"ovs_port": p.iface != nil, "veth": p.veth != nil}).Warn("reconcile: removed an orphaned endpoint")
	return nil
}

// AddressesInUse says, for every pool of a network this host created
// (keyed by "<address space>/<subnet>", see NetworkConfig.PoolIDs), which
// addresses its endpoints, gateways and aux reservations hold in OVN,
// whichever host the endpoints are on. IPAM claims outside these are
// orphans (see ipam.Manager.ReleaseOrphans); pools not listed are left
// alone, whoever shares their subnet.
func (d *Driver) AddressesInUse(ctx context.Context) (map[string]map[netip.Addr]bool, error) {
	chassis, err := d.chassisID(ctx)
	if err != nil {
		return nil, err
	}
	switches, err := d.nb.Switches(ctx)
	if err != nil {
		return nil, err
	}
	ports, err := d.nb.Ports(ctx)
	if err != nil {
		return nil, err
	}
	byNet := map[string][]string{}
	for _, p := range ports {
		byNet[p.NetworkID] = append(byNet[p.NetworkID], p.IPs...)
	}
	out := map[string]map[netip.Addr]bool{}
	for _, s := range switches {
		if !usedHere(s, chassis) {
			continue
		}
		// A shared switch's pool holds every host's endpoints and aux
		// reservations.
		held := gatewayAddrs(s.Gateways)
		for _, r := range s.Refs {
			held = append(append(held, byNet[r.NetworkID]...), r.Aux...)
		}
		for _, id := range s.Pools {
			_, sub, _ := strings.Cut(id, "/")
			if p, err := netip.ParsePrefix(sub); err == nil {
				out[id] = addrsIn(p, held)
			}
		}
	}
	return out, nil
}

// usedHere: this host created the switch, or has a network on it.
func usedHere(s *nb.Switch, chassis string) bool {
	for _, r := range s.Refs {
		if r.Chassis == chassis && chassis != "" {
			return true
		}
	}
	return false
}

func gatewayAddrs(cidrs []string) []string {
	out := make([]string, 0, len(cidrs))
	for _, c := range cidrs {
		if p, err := parseGateway(c); err == nil {
			out = append(out, p.Addr().String())
		}
	}
	return out
}

func addrsIn(p netip.Prefix, addrs []string) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for _, s := range addrs {
		if a, err := netip.ParseAddr(s); err == nil && p.Contains(a) {
			m[a] = true
		}
	}
	return m
}
