package driver

import (
	"context"
	"errors"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// CreateNetwork makes the network's logical switch, once. What it records
// is read, never guessed: a network whose MTU or creating chassis is wrong
// would misbehave long after this call, where nobody would look for why.
func (d *Driver) CreateNetwork(ctx context.Context, req *network.CreateNetworkRequest) error {
	cfg, err := ParseNetwork(req)
	if err != nil {
		return err
	}
	defer d.locks.lock("net/" + cfg.ID)()
	// Errors of the databases and the host name what they concern and
	// what to do; Docker's message already names the network being made.
	chassis, err := d.chassisID(ctx)
	if err != nil {
		return err
	}
	mtu := cfg.MTU
	if mtu == 0 {
		if mtu, err = d.defaultMTU(ctx, cfg.ID); err != nil {
			return err
		}
	}
	sw := nb.Switch{Name: SwitchName(cfg.ID), NetworkID: cfg.ID, Subnets: cfg.Subnets(),
		Gateways: cfg.Gateways(), MTU: mtu, Internal: cfg.Internal, Aux: cfg.Aux(),
		Chassis: chassis, Pools: cfg.PoolIDs(), NoICC: cfg.NoICC, Ingress: cfg.Ingress}
	if !cfg.Internal {
		sw.Router, sw.Isolate = cfg.Router, cfg.Isolate
	}
	if cfg.Shared, err = d.swarmShared(cfg); err != nil {
		return err
	}
	var created bool
	if cfg.Shared == "" {
		created, err = d.nb.EnsureSwitch(ctx, sw)
	} else {
		sw.Name, sw.Shared, sw.MTU = cfg.Shared, cfg.Shared, cfg.MTU
		sw.Refs = []nb.Ref{{NetworkID: cfg.ID, Chassis: chassis, Aux: cfg.Aux()}}
		created, err = d.nb.EnsureSharedSwitch(ctx, sw, mtu)
	}
	if err == nil && sw.Router != "" {
		err = d.attachRouter(ctx, cfg.ID)
	}
	d.abandoned.note(cfg.ID, err, d.cfg.Now())
	if err != nil {
		return err
	}
	d.crashPoint("create-network")
	d.cfg.Log.WithFields(map[string]any{"network": cfg.ID, "switch": sw.Name,
		"subnets": cfg.Subnets(), "mtu": mtu, "created": created}).Info("network ready")
	return nil
}

// attachRouter attaches the network's switch, made or joined just now, to
// its router; on failure the switch goes again (this host's reference to a
// shared one), so a failed CreateNetwork leaves nothing behind.
func (d *Driver) attachRouter(ctx context.Context, networkID string) error {
	sw, err := d.nb.Switch(ctx, networkID)
	if err == nil {
		err = d.nb.EnsureRouterPort(ctx, sw)
	}
	if err != nil {
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if _, uerr := d.removeSwitch(undo, networkID); uerr != nil {
			d.cfg.Log.WithError(uerr).WithField("network", networkID).Warn("rollback: switch left for reconciliation")
		}
	}
	return err
}

// defaultMTU leaves room for the Geneve header on the underlay that carries
// the tunnels, so packets between hosts are never fragmented or dropped.
func (d *Driver) defaultMTU(ctx context.Context, networkID string) (int, error) {
	if d.cfg.Nested != nil {
		return d.nestedMTU()
	}
	encapIP, err := d.ovs.EncapIP(ctx)
	if err != nil {
		return 0, err
	}
	mtu, err := d.links.UnderlayMTU(encapIP)
	if err != nil {
		return 0, usererr.Errorf(nil, "give it with -o "+OptMTU+"=N",
			"cannot size the MTU of network %s from the underlay (%w)", shortID(networkID), err)
	}
	return mtu - hostnet.GeneveOverhead(encapIP), nil
}

// DeleteNetwork removes the network's switch; a network already gone is
// success, since Docker only logs a failure here and moves on.
func (d *Driver) DeleteNetwork(ctx context.Context, req *network.DeleteNetworkRequest) error {
	if err := checkID("network", req.NetworkID); err != nil {
		return err
	}
	defer d.locks.lock("net/" + req.NetworkID)()
	deleted, err := d.removeSwitch(ctx, req.NetworkID)
	if err != nil {
		return err
	}
	d.cfg.Log.WithFields(map[string]any{"network": req.NetworkID, "deleted": deleted}).Info("network removed")
	return nil
}

// networkNotFound turns a missing switch into the sentence users see.
func networkNotFound(networkID string, err error) error {
	if errors.Is(err, ovs.ErrNotFound) {
		return usererr.Wrap(ovs.ErrNotFound, err, "remove the network and create it again",
			"network %s is not known to the openvswitch driver: OVN has no logical switch %s for it",
			shortID(networkID), SwitchName(networkID))
	}
	return err
}

// removeSwitch removes this host's network from its switch: the switch
// itself for a per-host network, this host's reference (and the switch with
// the last one) for a shared one, which is why it needs the chassis name.
func (d *Driver) removeSwitch(ctx context.Context, networkID string) (bool, error) {
	chassis, err := d.chassisID(ctx)
	if err != nil {
		chassis = "" // a per-host network's switch goes all the same
	}
	deleted, err2 := d.nb.DeleteSwitch(ctx, networkID, chassis)
	if err2 != nil && err != nil {
		return false, err
	}
	return deleted, err2
}
