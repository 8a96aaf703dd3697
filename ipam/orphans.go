package ipam

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-docker/ovn-docker/dockerapi"
)

// ReleaseOrphans releases the claims, in pools of networks this host
// created, that no endpoint, gateway or aux reservation holds (inUse, keyed
// by PoolID, from driver.AddressesInUse) once they have looked so on every
// pass for the orphan grace period: a RequestAddress is answered before
// Docker calls CreateEndpoint, so a fresh claim looks orphaned for a
// moment. Pools not in inUse (another host's, another driver's, another
// space's with the same subnet) are left alone. It only reads until it
// releases.
func (m *Manager) ReleaseOrphans(ctx context.Context, inUse map[string]map[netip.Addr]bool) ([]string, error) {
	snap, err := m.db.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	claimed, err := m.db.Claimed(ctx)
	if err != nil {
		return nil, err
	}
	pools := map[string]Pool{}
	var suspects []string
	for _, rec := range snap.Pools {
		held, ok := inUse[PoolID(rec.Space, rec.Subnet)]
		if !ok || rec.Space == GlobalSpace {
			// Swarm pools' claims are the swarm manager's, some for
			// endpoints on no host (service VIPs).
			continue
		}
		if pools[rec.Name], err = NewPool(rec.Subnet, rec.Range); err != nil {
			continue
		}
		for _, a := range claimed[rec.Name] {
			if !held[a] {
				suspects = append(suspects, rec.Name+" "+a.String())
			}
		}
	}
	var released []string
	for _, key := range m.orphans.Observe(suspects, m.cfg.Now()) {
		name, s, _ := strings.Cut(key, " ")
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if err := m.db.Release(ctx, name, pools[name].Block(a), a); err != nil {
			return released, err
		}
		m.cfg.Log.WithFields(map[string]any{"pool": pools[name].Subnet, "address": a}).Warn("reconcile: released an orphaned address claim")
		released = append(released, a.String())
	}
	return released, nil
}

// ReleaseForgottenPools deletes the pools this host created that no
// network of its Docker engine (nets, read from Docker's API) uses any
// more, once they have looked so on every pass for the grace period:
// Docker releases pools without a word to the plugin while it is stopped,
// and only logs a ReleasePool that failed. A pool counts as used while any
// network not on Docker's own IPAM has its subnet, so a doubt keeps it.
// The grace period covers a RequestPool whose network Docker has not
// stored yet. It returns the PoolIDs it released.
func (m *Manager) ReleaseForgottenPools(ctx context.Context, nets []dockerapi.Network) ([]string, error) {
	chassis, err := m.cfg.SystemID(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := m.db.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	used := UsedSubnets(nets)
	var suspects []string
	shared := map[string]bool{}
	for _, rec := range snap.Pools {
		// A shared pool is this host's while it references it; another is
		// this host's if it created it.
		mine := rec.Chassis == chassis
		if rec.Network != "" {
			mine, shared[rec.Name] = slices.Contains(rec.Refs, chassis), true
		}
		if mine && chassis != "" && !used[rec.Subnet] {
			suspects = append(suspects, rec.Name+" "+PoolID(rec.Space, rec.Subnet))
		}
	}
	var released []string
	for _, key := range m.forgotten.Observe(suspects, m.cfg.Now()) {
		name, id, _ := strings.Cut(key, " ")
		var err error
		if shared[name] {
			_, err = m.db.DropRef(ctx, name, chassis)
		} else {
			err = m.db.DeletePool(ctx, name)
		}
		if err != nil {
			return released, err
		}
		m.forget(id)
		m.cfg.Log.WithField("pool", id).Warn("reconcile: released a pool Docker no longer uses")
		released = append(released, id)
	}
	return released, nil
}

// UsedSubnets are the subnets of Docker's networks whose addresses may
// come from this IPAM driver: any not on Docker's own default or null IPAM.
func UsedSubnets(nets []dockerapi.Network) map[netip.Prefix]bool {
	used := map[netip.Prefix]bool{}
	for _, n := range nets {
		if n.IPAMDriver == "default" || n.IPAMDriver == "null" {
			continue
		}
		for _, s := range n.Subnets {
			used[s] = true
		}
	}
	return used
}
