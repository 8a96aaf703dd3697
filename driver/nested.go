package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// Nested is the daemon's mode inside a VM whose NIC, Uplink, is the OVN
// logical port Parent: an endpoint's port is a nested port of Parent,
// which the hypervisor's ovn-controller binds where the VM runs, and Join
// hands Docker a VLAN sub-interface of Uplink tagged with the port's tag.
// The VM has no OVS and needs only the Northbound database.
type Nested struct {
	Parent string // the VM's logical port
	Uplink string // the VM's NIC bound to it
}

// tagTimeout bounds Join's wait for northd to tag a nested port: two of
// its passes, milliseconds when it runs.
const tagTimeout = 10 * time.Second

// chassisID names this host in what it owns.
func (d *Driver) chassisID(ctx context.Context) (string, error) {
	if n := d.cfg.Nested; n != nil {
		return n.Chassis(), nil
	}
	return d.ovs.SystemID(ctx)
}

// Chassis is what a nested daemon writes where a chassis daemon writes its
// system-id.
func (n Nested) Chassis() string { return nb.NestedChassis(n.Parent) }

// portHome is where CreateEndpoint puts a port: a chassis to bind it on,
// or a parent to nest it in.
func (d *Driver) portHome(ctx context.Context, p *nb.Port) error {
	if n := d.cfg.Nested; n != nil {
		p.Parent = n.Parent
		return nil
	}
	chassis, err := d.ovs.SystemID(ctx)
	p.Chassis = chassis
	return err
}

// joinNested gives the endpoint its VLAN sub-interface, once northd has
// given its port a tag, and waits, like Join on a chassis, until the
// hypervisor has the port's flows (the VM has no ovn-installed to read).
func (d *Driver) joinNested(ctx context.Context, port *nb.Port, mtu int) error {
	mac, err := portMAC(port)
	if err != nil {
		return err
	}
	if up, err := d.links.LinkMTU(d.cfg.Nested.Uplink); err != nil {
		return err
	} else if mtu > up {
		// The kernel refuses it with a bare "invalid argument".
		return usererr.Errorf(ErrInvalid, fmt.Sprintf("give the network -o %s=%d or less", OptMTU, up),
			"network %s has MTU %d, more than uplink %s's %d", shortID(port.NetworkID), mtu, d.cfg.Nested.Uplink, up)
	}
	tag, err := d.nb.WaitTag(ctx, port.Name, tagTimeout)
	if err != nil {
		return err
	}
	err = d.links.EnsureVLAN(hostnet.VLAN{Name: PeerIfName(port.EndpointID), Parent: d.cfg.Nested.Uplink,
		Tag: tag, MTU: mtu, MAC: mac, Mark: linkMark(port.EndpointID)})
	if err != nil {
		return err
	}
	d.crashPoint("join-vlan")
	d.waitChassis(ctx, port.EndpointID)
	return nil
}

// nestedMTU: the VM's NIC is on the overlay already, its MTU the overlay's.
func (d *Driver) nestedMTU() (int, error) {
	mtu, err := d.links.LinkMTU(d.cfg.Nested.Uplink)
	if err != nil {
		return 0, err
	}
	return mtu, nil
}

// ReconcileNested removes, in a VM, the nested ports of the VM's port
// whose endpoint no container of this Docker engine holds (known: every
// endpoint ID Docker's containers have), once they have looked so on every
// pass for the grace period, with their published ports and their VLAN
// interface if it is still here: what a daemon stopped or killed during
// a docker rm left. Once Docker moved a VLAN interface into a container,
// nothing of it is left in the VM's namespace to tell from, so Docker's
// own view is what decides (the grace period covers a CreateEndpoint whose
// container Docker has not recorded yet). It returns the endpoints removed.
func (d *Driver) ReconcileNested(ctx context.Context, known map[string]bool) ([]string, error) {
	n := d.cfg.Nested
	if n == nil {
		return nil, nil
	}
	ports, err := d.nb.Ports(ctx)
	if err != nil {
		return nil, err
	}
	var suspects []string
	for _, p := range ports {
		if p.Parent == n.Parent && !known[p.EndpointID] {
			suspects = append(suspects, p.EndpointID)
		}
	}
	var removed []string
	for _, eid := range d.nestedOrphans.Observe(suspects, d.cfg.Now()) {
		if err := d.removeNested(ctx, eid); err != nil {
			return removed, err
		}
		removed = append(removed, eid)
	}
	return removed, nil
}

func (d *Driver) removeNested(ctx context.Context, endpointID string) error {
	defer d.locks.lock("ep/" + endpointID)()
	if _, err := d.nb.Unpublish(ctx, endpointID); err != nil {
		return err
	}
	if err := d.links.DeleteLink(PeerIfName(endpointID), linkMark(endpointID)); err != nil {
		return err
	}
	if _, err := d.nb.DeletePort(ctx, PortName(endpointID)); err != nil {
		return err
	}
	d.cfg.Log.WithField("endpoint", endpointID).Warn("reconcile: removed the nested port of an endpoint Docker no longer has")
	return nil
}
