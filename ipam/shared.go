package ipam

import (
	"context"
	"errors"
	"net/netip"
	"regexp"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// OptNetwork (--ipam-opt ovn.network=NAME) makes every host's RequestPool
// for the OVN network NAME answer the same pool, per address family,
// instead of refusing the second as an overlap: addresses then stay unique
// across the hosts. It goes with -o ovn.network=NAME, which shares the
// logical switch.
const OptNetwork = "ovn.network"

var sharedName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// requestShared answers the OVN network's pool of r's family, creating it
// if no host has yet. Called with createMu held.
func (m *Manager) requestShared(ctx context.Context, r poolRequest, chassis string) (*ipam.RequestPoolResponse, error) {
	return m.onSnapshots(ctx, r.space, func(snap *store.Snapshot) (*ipam.RequestPoolResponse, bool, error) {
		if have := sharedPool(snap, r); have != nil {
			if err := sameRequest(have, r); err != nil {
				return nil, false, err
			}
			err := m.db.AddRef(ctx, have.Name, r.network, chassis)
			if errors.Is(err, ovs.ErrNotFound) {
				return nil, true, nil // released by its last other host meanwhile
			}
			if err != nil {
				return nil, false, err
			}
			return poolResponse(have.Space, have.Subnet), false, nil
		}
		subnet, err := m.choose(r, snap)
		if err != nil {
			return nil, false, err
		}
		rec := store.Pool{Name: store.RowName(r.space, subnet), Space: r.space, Subnet: subnet, Range: r.rng,
			Chassis: chassis, Network: r.network}
		err = m.db.CreatePool(ctx, rec, snap.Generation)
		if errors.Is(err, ovs.ErrStale) || errors.Is(err, ovs.ErrConflict) {
			return nil, true, nil // another host made a pool first: look again
		}
		if err != nil {
			return nil, false, err
		}
		m.cfg.Log.WithFields(map[string]any{"pool": PoolID(r.space, subnet), "network": r.network}).Info("shared pool allocated")
		return poolResponse(r.space, subnet), false, nil
	})
}

func poolResponse(space string, subnet netip.Prefix) *ipam.RequestPoolResponse {
	return &ipam.RequestPoolResponse{PoolID: PoolID(space, subnet), Pool: subnet.String(), Data: map[string]string{}}
}

// sharedPool finds the OVN network's pool of the request's family.
func sharedPool(snap *store.Snapshot, r poolRequest) *store.Pool {
	for i, p := range snap.Pools {
		if p.Network == r.network && p.Space == r.space && p.Subnet.Addr().Is6() == r.v6 {
			return &snap.Pools[i]
		}
	}
	return nil
}

// sameRequest refuses a host whose subnet or range differs from the
// network's pool, naming both.
func sameRequest(have *store.Pool, r poolRequest) error {
	if r.subnet.IsValid() && r.subnet != have.Subnet {
		return usererr.Errorf(ErrOverlap, "give --subnet "+have.Subnet.String()+" or leave it out",
			"OVN network %s uses pool %s, not %s", r.network, have.Subnet, r.subnet)
	}
	if r.rng.IsValid() && r.rng != have.Range {
		return usererr.Errorf(ErrOverlap, "give the same --ip-range or leave it out",
			"OVN network %s uses pool %s with range %s, not %s", r.network, have.Subnet, orAll(have.Range), r.rng)
	}
	return nil
}

func orAll(p netip.Prefix) string {
	if !p.IsValid() {
		return "none"
	}
	return p.String()
}

// sharedGateway gives every host of an OVN network the one gateway of its
// pool: the first host's request claims it (the subnet's first host
// address, or the --gateway given) and records it, later hosts get it.
func (m *Manager) sharedGateway(ctx context.Context, rec *store.Pool, pool Pool, want string) (netip.Addr, error) {
	gw := rec.Gateway
	if !gw.IsValid() {
		a := pool.Gateway()
		if want != "" {
			var err error
			if a, err = netip.ParseAddr(want); err != nil || !pool.Allocatable(a) {
				return a, usererr.Errorf(ErrOutOfPool, "give a --gateway inside it", "gateway %s is not an address of pool %s", want, pool.Subnet)
			}
		}
		var err error
		if gw, err = m.db.ClaimGateway(ctx, rec.Name, pool.Block(a), a); err != nil {
			return a, m.poolGone(err, pool)
		}
	}
	if want != "" && want != gw.String() {
		return netip.Addr{}, usererr.Errorf(ErrAllocated, "give --gateway "+gw.String()+" or leave it out",
			"OVN network %s has gateway %s, not %s", rec.Network, gw, want)
	}
	return gw, nil
}

// releaseShared lets this host go of a shared pool; the last host's release
// deletes it.
func (m *Manager) releaseShared(ctx context.Context, rec *store.Pool, id string) error {
	chassis, err := m.cfg.SystemID(ctx)
	if err != nil {
		return err
	}
	deleted, err := m.db.DropRef(ctx, rec.Name, chassis)
	if err != nil {
		return err
	}
	if deleted {
		m.forget(id)
	}
	m.cfg.Log.WithFields(map[string]any{"pool": id, "network": rec.Network, "deleted": deleted}).Info("shared pool released by this host")
	return nil
}
