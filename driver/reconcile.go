package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// An endpoint has up to three pieces on this host, all named from its ID:
// the logical port bound to this chassis, the OVS port on the bridge, and
// the veth. It is in use exactly when all three exist and the veth's other
// end is in another network namespace: Docker moved it into a container.
// Anything else is a call in flight (CreateEndpoint before Join, Leave
// before DeleteEndpoint: milliseconds) or a leftover of a crash or a lost
// call. Reconcile removes the pieces of an endpoint only after it has
// looked unused on every pass for the orphan grace period, and only pieces
// carrying our marks, named our way and bound to this chassis.
type pieces struct {
	port  *ovs.Port
	iface *ovs.Iface
	veth  *hostnet.VethInfo
}

func (p pieces) endpointID() string {
	switch {
	case p.port != nil:
		return p.port.EndpointID
	case p.iface != nil:
		return p.iface.EndpointID
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
	Removed   []string // host interface names of endpoints cleaned up
	Switches  []string // networks whose failed creation had left a switch
}

// Reconcile cleans what crashes and lost calls left on this host. A
// running container whose OVS port went missing gets it back; that too
// waits for the grace period, since Docker tears a container down with its
// veth still inside it, and Leave removes the OVS port first.
func (d *Driver) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	swept, err := d.sweepAbandoned(ctx)
	if err != nil {
		return nil, err
	}
	all, err := d.survey(ctx)
	if err != nil {
		return nil, err
	}
	r := &ReconcileReport{Switches: swept}
	var suspects []string
	for host, p := range all {
		switch {
		case p.veth != nil && p.veth.Retired:
			// The reaper owns it.
		case p.inUse() && p.iface == nil:
			suspects = append(suspects, repairKey+host)
		case p.inUse():
			r.Endpoints++
		default:
			suspects = append(suspects, host)
		}
	}
	for _, key := range d.orphans.Observe(suspects, time.Now()) {
		host, repair := strings.CutPrefix(key, repairKey)
		acted, err := d.settle(ctx, host, all[host], repair)
		if err != nil {
			return r, err
		}
		switch {
		case acted && repair:
			r.Repaired = append(r.Repaired, host)
		case acted:
			r.Removed = append(r.Removed, host)
		}
	}
	sort.Strings(r.Removed)
	return r, nil
}

// repairKey marks, among the tracked suspects, endpoints to re-plug.
const repairKey = "repair "

// settle re-checks one endpoint under its lock, so no call has picked it up
// since the survey, then re-plugs or removes it. It reports whether it acted.
func (d *Driver) settle(ctx context.Context, host string, was *pieces, repair bool) (bool, error) {
	if id := was.endpointID(); id != "" {
		defer d.locks.lock("ep/" + id)()
	}
	all, err := d.survey(ctx)
	if err != nil {
		return false, err
	}
	p := all[host]
	switch {
	case p == nil || (p.veth != nil && p.veth.Retired):
		return false, nil
	case repair && p.inUse() && p.iface == nil:
		return true, d.replug(ctx, p)
	case !repair && !p.inUse():
		return true, d.clean(ctx, host, p)
	}
	return false, nil
}

// survey gathers this host's pieces of every endpoint, by host interface name.
func (d *Driver) survey(ctx context.Context) (map[string]*pieces, error) {
	chassis, err := d.ovs.SystemID(ctx)
	if err != nil {
		return nil, fmt.Errorf("read this host's system-id: %w", err)
	}
	ports, err := d.nb.Ports(ctx)
	if err != nil {
		return nil, err
	}
	ifaces, err := d.ovs.Interfaces(ctx)
	if err != nil {
		return nil, err
	}
	veths, err := d.links.Veths(hostIfPrefix)
	if err != nil {
		return nil, err
	}
	all := map[string]*pieces{}
	get := func(host string) *pieces {
		if all[host] == nil {
			all[host] = &pieces{}
		}
		return all[host]
	}
	for _, p := range ports {
		if p.Chassis == chassis {
			get(HostIfName(p.EndpointID)).port = p
		}
	}
	for _, i := range ifaces {
		get(i.Name).iface = i
	}
	for i := range veths {
		if isHostIfName(veths[i].Name) {
			get(veths[i].Name).veth = &veths[i]
		}
	}
	return all, nil
}

// isHostIfName: only names we would have made are ours to clean.
func isHostIfName(name string) bool {
	id := strings.TrimPrefix(name, hostIfPrefix)
	return len(name) <= 15 && id != name && idPattern.MatchString(id)
}

// replug puts a container's veth back on the bridge after someone removed
// its OVS port: the container is running and its logical port exists.
func (d *Driver) replug(ctx context.Context, p *pieces) error {
	host := HostIfName(p.port.EndpointID)
	_, err := d.ovs.EnsureInterface(ctx, d.cfg.Bridge, ovs.Iface{
		Name: host, LogicalPort: p.port.Name, MAC: p.port.MAC, EndpointID: p.port.EndpointID})
	if err != nil {
		return fmt.Errorf("re-attach %s: %w", host, err)
	}
	d.cfg.Log.WithFields(map[string]any{"endpoint": p.port.EndpointID, "interface": host}).
		Warn("reconcile: put back the OVS port of a running container")
	return nil
}

// clean removes an orphan endpoint's pieces from this host and OVN.
func (d *Driver) clean(ctx context.Context, host string, p *pieces) error {
	if err := d.detach(ctx, strings.TrimPrefix(host, hostIfPrefix)); err != nil && !errors.Is(err, ovs.ErrNotFound) {
		return err
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

// AddressesInUse says, for every subnet of a network this host created,
// which addresses its endpoints, gateways and aux reservations hold in OVN,
// whichever host the endpoints are on. IPAM claims outside these are
// orphans (see ipam.Manager.ReleaseOrphans).
func (d *Driver) AddressesInUse(ctx context.Context) (map[netip.Prefix]map[netip.Addr]bool, error) {
	chassis, err := d.ovs.SystemID(ctx)
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
	out := map[netip.Prefix]map[netip.Addr]bool{}
	for _, s := range switches {
		if s.Chassis != chassis || chassis == "" {
			continue
		}
		held := append(append(append([]string{}, byNet[s.NetworkID]...), s.Aux...), gatewayAddrs(s.Gateways)...)
		for _, sub := range s.Subnets {
			p, err := netip.ParsePrefix(sub)
			if err != nil {
				continue
			}
			out[p] = addrsIn(p, held)
		}
	}
	return out, nil
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
