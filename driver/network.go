package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// CreateNetwork makes the network's logical switch, once.
func (d *Driver) CreateNetwork(ctx context.Context, req *network.CreateNetworkRequest) error {
	cfg, err := ParseNetwork(req)
	if err != nil {
		return err
	}
	defer d.locks.lock("net/" + cfg.ID)()
	if cfg.MTU == 0 {
		cfg.MTU = d.defaultMTU(ctx)
	}
	created, err := d.nb.EnsureSwitch(ctx, ovs.Switch{
		Name: SwitchName(cfg.ID), NetworkID: cfg.ID, Subnets: cfg.Subnets(),
		Gateways: cfg.Gateways(), MTU: cfg.MTU, Internal: cfg.Internal, Aux: cfg.Aux(),
		Chassis: d.chassis(ctx),
	})
	d.abandoned.note(cfg.ID, err)
	if err != nil {
		return err
	}
	d.crashPoint("create-network")
	d.cfg.Log.WithFields(map[string]any{"network": cfg.ID, "switch": SwitchName(cfg.ID),
		"subnets": cfg.Subnets(), "mtu": cfg.MTU, "created": created}).Info("network ready")
	return nil
}

// chassis names this host for the switch's record, which tells whose
// reconciliation looks after the network's IPAM claims; an unreachable OVS
// leaves it empty rather than failing the network.
func (d *Driver) chassis(ctx context.Context) string {
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	id, err := d.ovs.SystemID(octx)
	if err != nil {
		d.cfg.Log.WithError(err).Warn("cannot read this host's system-id")
	}
	return id
}

// defaultMTU leaves room for the Geneve header on the underlay that carries
// the tunnels, so packets between hosts are never fragmented or dropped.
func (d *Driver) defaultMTU(ctx context.Context) int {
	// The local OVS database only refines the guess; do not let it being
	// down eat the whole call's budget.
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	encapIP, err := d.ovs.EncapIP(octx)
	if err != nil {
		d.cfg.Log.WithError(err).Warn("cannot read ovn-encap-ip; sizing the MTU from the default route")
	}
	mtu, err := d.links.UnderlayMTU(encapIP)
	if err != nil {
		d.cfg.Log.WithError(err).Warn("cannot read the underlay MTU; assuming 1500")
		mtu = 1500
	}
	return mtu - hostnet.GeneveOverhead(encapIP)
}

// DeleteNetwork removes the network's switch; a network already gone is
// success, since Docker only logs a failure here and moves on.
func (d *Driver) DeleteNetwork(ctx context.Context, req *network.DeleteNetworkRequest) error {
	if err := checkID("network", req.NetworkID); err != nil {
		return err
	}
	defer d.locks.lock("net/" + req.NetworkID)()
	deleted, err := d.nb.DeleteSwitch(ctx, req.NetworkID)
	if err != nil {
		return err
	}
	d.cfg.Log.WithFields(map[string]any{"network": req.NetworkID, "deleted": deleted}).Info("network removed")
	return nil
}

// networkNotFound turns a missing switch into the sentence users see.
func networkNotFound(networkID string, err error) error {
	if errors.Is(err, ovs.ErrNotFound) {
		return fmt.Errorf("network %s is not known to the openvswitch driver: OVN has no logical switch %s for it",
			shortID(networkID), SwitchName(networkID))
	}
	return err
}
