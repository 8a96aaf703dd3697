package driver

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// containerIfPrefix is what Docker names the interface inside the container.
const containerIfPrefix = "eth"

// Join plugs the endpoint in: a veth pair, its host end on the integration
// bridge bound to the logical port, then a bounded wait for ovn-controller
// to install the port's flows so the container's first packet is delivered.
// On a routed network the gateway is the router's port, and Docker adds
// no docker_gwbridge; otherwise no Gateway is returned and Docker attaches
// docker_gwbridge for outside access.
func (d *Driver) Join(ctx context.Context, req *network.JoinRequest) (resp *JoinResponse, err error) {
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return nil, err
	}
	defer d.locks.lock("ep/" + req.EndpointID)()
	port, err := d.nb.Port(ctx, PortName(req.EndpointID))
	if err != nil {
		return nil, endpointNotFound(req.EndpointID, err)
	}
	sw, err := d.nb.Switch(ctx, port.NetworkID)
	if err != nil {
		return nil, networkNotFound(port.NetworkID, err)
	}
	var br *local.Bridge
	if d.cfg.Nested == nil {
		if br, err = d.ovs.Bridge(ctx, d.cfg.Bridge); err != nil {
			return nil, bridgeNotFound(d.cfg.Bridge, err)
		}
	}
	defer func() {
		if err != nil {
			d.undoJoin(req.EndpointID, err)
		}
	}()
	d.reaper.wait(req.EndpointID)
	if port.Exposed, err = parseExposed(req.Options); err != nil {
		return nil, err
	}
	if err := d.nb.EnsureExposed(ctx, sw, *port); err != nil {
		return nil, err
	}
	if br == nil {
		err = d.joinNested(ctx, port, sw.MTU)
	} else {
		err = d.joinChassis(ctx, port, sw, br)
	}
	if err != nil {
		return nil, err
	}
	resp = &JoinResponse{InterfaceName: InterfaceName{SrcName: PeerIfName(req.EndpointID),
		DstPrefix: containerIfPrefix, DstName: port.IfName}}
	resp.Gateway, resp.GatewayIPv6 = routerGateways(sw)
	return resp, nil
}

// joinChassis plugs the endpoint into this chassis' bridge and waits for
// ovn-controller here, and on the other chassis that reach the port.
func (d *Driver) joinChassis(ctx context.Context, port *nb.Port, sw *nb.Switch, br *local.Bridge) error {
	if err := d.plug(ctx, port, sw.MTU, br); err != nil {
		return err
	}
	d.crashPoint("join-ovs")
	d.waitInstalled(ctx, port.EndpointID)
	if sw.Shared != "" || sw.Router != "" {
		// Other chassis reach the port too: through the shared switch, or
		// routed there by the router every chassis runs a copy of.
		d.waitChassis(ctx, port.EndpointID)
	}
	if sw.Router != "" && !sw.Internal {
		d.waitBFD(ctx, port.EndpointID)
	}
	return nil
}

// routerGateways are the router's addresses on a routed network, one per
// family, as Join answers them (no prefix length).
func routerGateways(sw *nb.Switch) (v4, v6 string) {
	if sw.Router == "" {
		return "", ""
	}
	for _, g := range sw.Gateways {
		p, err := netip.ParsePrefix(g)
		switch {
		case err != nil:
		case p.Addr().Is4() && v4 == "":
			v4 = p.Addr().String()
		case p.Addr().Is6() && v6 == "":
			v6 = p.Addr().String()
		}
	}
	return v4, v6
}

// bridgeNotFound turns a missing integration bridge into the sentence
// users see.
func bridgeNotFound(bridge string, err error) error {
	if errors.Is(err, ovs.ErrNotFound) {
		return usererr.Wrap(ovs.ErrNotFound, err,
			"set up ovn-controller on this host, or give the bridge it uses with --bridge",
			"integration bridge %s does not exist in the local Open vSwitch database", bridge)
	}
	return err
}

// plug makes the veth pair and puts its host end on the bridge. Errors of
// the host and of OVS name the devices, which carry the endpoint's ID.
func (d *Driver) plug(ctx context.Context, port *nb.Port, mtu int, br *local.Bridge) error {
	mac, err := portMAC(port)
	if err != nil {
		return err
	}
	host := HostIfName(port.EndpointID)
	err = d.links.EnsureVeth(hostnet.Veth{
		HostName: host, PeerName: PeerIfName(port.EndpointID), MTU: mtu, PeerMAC: mac, Mark: linkMark(port.EndpointID),
		// The userspace datapath does not complete partial checksums.
		TxChecksumOff: br.Userspace(),
	})
	if err != nil {
		return err
	}
	d.crashPoint("join-veth")
	_, err = d.ovs.EnsureInterface(ctx, br.Name, local.Iface{
		Name: host, LogicalPort: port.Name, MAC: port.MAC, EndpointID: port.EndpointID,
	})
	return bridgeNotFound(br.Name, err)
}

// portMAC is the MAC the port's interface must have.
func portMAC(port *nb.Port) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(port.MAC)
	if err != nil {
		return nil, usererr.Errorf(nil, "disconnect the container from the network and connect it again",
			"logical port %s has an unusable MAC %q", port.Name, port.MAC)
	}
	return mac, nil
}

// waitInstalled does not fail the join on expiry: the port works as soon as
// ovn-controller catches up, and failing would make a slow controller break
// every docker run.
func (d *Driver) waitInstalled(ctx context.Context, endpointID string) {
	if d.cfg.ReadyTimeout <= 0 {
		return
	}
	// The wait has its own budget, on top of the call's budget for OVN.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ReadyTimeout+rollbackTimeout)
	defer cancel()
	err := d.ovs.WaitInstalled(ctx, HostIfName(endpointID), d.cfg.ReadyTimeout)
	if err != nil {
		d.cfg.Log.WithError(err).WithField("endpoint", endpointID).
			Warn("ovn-controller has not installed the port yet; the container's first packets may be lost")
	}
}

// waitChassis waits, on a network shared by hosts or routed, until every chassis
// has the port's flows, so a container on another host reaches the new one
// with its first packet. Like waitInstalled it does not fail the join.
func (d *Driver) waitChassis(ctx context.Context, endpointID string) {
	if d.cfg.RemoteReadyTimeout <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.RemoteReadyTimeout+rollbackTimeout)
	defer cancel()
	err := d.nb.WaitChassis(ctx, d.cfg.RemoteReadyTimeout)
	log := d.cfg.Log.WithField("endpoint", endpointID)
	switch {
	case errors.Is(err, nb.ErrChassisSkipped):
		log.Debug("not waiting for every chassis: some still lag")
	case err != nil:
		d.chassisBehind.Store(true)
		log.WithError(err).WithField("waited", d.cfg.RemoteReadyTimeout).Warn("not every chassis has installed " +
			"the port yet; first packets from other hosts may be lost. Joins skip this wait until every chassis " +
			"catches up: a chassis that is down, or a stale Chassis row in the Southbound database " +
			"(ovn-sbctl chassis-del NAME), holds it back")
	case d.chassisBehind.Swap(false):
		log.Info("every chassis has caught up; Joins on shared and routed networks wait for them again")
	}
}

// undoJoin removes what a failed Join made. It runs on a fresh context: the
// call's own may be what expired.
func (d *Driver) undoJoin(endpointID string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if err := d.detach(ctx, endpointID); err != nil {
		d.cfg.Log.WithError(err).WithFields(map[string]any{"endpoint": endpointID, "cause": cause}).
			Error("rolling back a failed join left something behind")
	}
}

// Leave unplugs the endpoint; an endpoint already unplugged is success.
// The OVS port goes at once; the veth is retired and deleted in a batch
// moments later (see reaper).
func (d *Driver) Leave(ctx context.Context, req *network.LeaveRequest) error {
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return err
	}
	defer d.locks.lock("ep/" + req.EndpointID)()
	if d.cfg.Nested != nil {
		// Docker has moved the VLAN interface back out of the container.
		return d.links.DeleteLink(PeerIfName(req.EndpointID), linkMark(req.EndpointID))
	}
	host := HostIfName(req.EndpointID)
	if err := d.unplugOVS(ctx, host); err != nil {
		return err
	}
	d.crashPoint("leave")
	return d.reaper.retire(req.EndpointID, host)
}

// detach deletes the OVS port and the veth pair, each only if present. A
// veth the reaper is already deleting is left to it.
func (d *Driver) detach(ctx context.Context, endpointID string) error {
	if d.cfg.Nested != nil {
		return d.links.DeleteLink(PeerIfName(endpointID), linkMark(endpointID))
	}
	host := HostIfName(endpointID)
	if err := d.unplugOVS(ctx, host); err != nil {
		return err
	}
	if d.reaper.busy(endpointID) {
		return nil
	}
	return d.links.DeleteLink(host, linkMark(endpointID))
}

func (d *Driver) unplugOVS(ctx context.Context, host string) error {
	_, err := d.ovs.DeleteInterface(ctx, host)
	return err
}
