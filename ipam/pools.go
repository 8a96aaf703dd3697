package ipam

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// maxStaleRetries bounds how often pool creation starts over because
// another daemon created a pool meanwhile.
const maxStaleRetries = 20

// backoff waits a little, more each attempt, with jitter so two daemons
// that collided do not collide again.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Capabilities: the driver needs neither MACs nor replayed requests, since
// its state survives restarts in the Northbound database.
func (m *Manager) Capabilities() *ipam.CapabilitiesResponse {
	return &ipam.CapabilitiesResponse{}
}

// AddressSpaces names the local and global default spaces.
func (m *Manager) AddressSpaces() *ipam.AddressSpacesResponse {
	return &ipam.AddressSpacesResponse{LocalDefaultAddressSpace: LocalSpace, GlobalDefaultAddressSpace: GlobalSpace}
}

// poolRequest is a validated RequestPool.
type poolRequest struct {
	space  string
	subnet netip.Prefix // invalid: pick one
	rng    netip.Prefix
	v6     bool
	// network is --ipam-opt ovn.network: every host of that OVN network
	// gets the same pool.
	network string
}

func parsePoolRequest(req *ipam.RequestPoolRequest) (poolRequest, error) {
	r := poolRequest{space: req.AddressSpace, v6: req.V6}
	if r.space == "" {
		r.space = LocalSpace
	}
	if r.space != LocalSpace && r.space != GlobalSpace {
		return r, usererr.Errorf(nil, "use "+LocalSpace+" or "+GlobalSpace,
			"unknown address space %q for the openvswitch IPAM driver", req.AddressSpace)
	}
	for k, v := range req.Options {
		if k == optSerial {
			continue
		}
		if k != OptNetwork {
			return r, usererr.Errorf(nil, "remove --ipam-opt "+k, "unknown IPAM option %q: the openvswitch IPAM driver takes only %s", k, OptNetwork)
		}
		if !sharedName.MatchString(v) || strings.HasPrefix(v, "docker-") {
			return r, usererr.Errorf(nil, "give 1 to 64 letters, digits, '_', '.' or '-', not starting with docker-",
				"--ipam-opt %s=%q is not a valid OVN network name", OptNetwork, v)
		}
		r.network = v
	}
	family := map[bool]string{false: "IPv4", true: "IPv6"}[r.v6]
	if req.Pool != "" {
		p, err := netip.ParsePrefix(req.Pool)
		if err != nil || p.Addr().Is6() != r.v6 || p.Addr().Is4In6() {
			return r, usererr.Errorf(nil, "give a valid one with --subnet", "%q is not a valid %s subnet", req.Pool, family)
		}
		r.subnet = p.Masked()
	}
	if req.SubPool != "" {
		p, err := netip.ParsePrefix(req.SubPool)
		if err != nil {
			return r, usererr.Errorf(nil, "give one in CIDR form, such as 10.0.0.128/25", "--ip-range %q is not a valid subnet", req.SubPool)
		}
		if !r.subnet.IsValid() {
			return r, usererr.Errorf(nil, "give the --subnet it is part of", "--ip-range %s comes without --subnet", req.SubPool)
		}
		if _, err := NewPool(r.subnet, p); err != nil {
			return r, err
		}
		r.rng = p.Masked()
	}
	return r, nil
}

// RequestPool allocates a pool: the subnet asked for, refused if it
// overlaps a pool of the same space, or else a free one from the defaults.
func (m *Manager) RequestPool(ctx context.Context, req *ipam.RequestPoolRequest) (*ipam.RequestPoolResponse, error) {
	r, err := parsePoolRequest(req)
	if err != nil {
		return nil, err
	}
	// A pool records the chassis that made it; the database's error says
	// why the name is unknown and what to do.
	chassis, err := m.cfg.SystemID(ctx)
	if err != nil {
		return nil, err
	}
	// One creation at a time in this daemon; other daemons may still race
	// us, and then the generation check sends one of us round again.
	m.createMu.Lock()
	defer m.createMu.Unlock()
	switch view, ok, err := m.nodeView(ctx, r); {
	case err != nil:
		return nil, err
	case ok:
		return view, nil
	case r.network != "":
		return m.requestShared(ctx, r, chassis)
	case r.space == GlobalSpace:
		return m.requestGlobal(ctx, r, chassis)
	}
	return m.requestOwn(ctx, r, chassis)
}

// requestOwn makes a pool of this request's own. Called with createMu held.
func (m *Manager) requestOwn(ctx context.Context, r poolRequest, chassis string) (*ipam.RequestPoolResponse, error) {
	return m.onSnapshots(ctx, r.space, func(snap *store.Snapshot) (*ipam.RequestPoolResponse, bool, error) {
		subnet, err := m.choose(r, snap)
		if err != nil {
			return nil, false, err
		}
		rec := store.Pool{Name: store.RowName(r.space, subnet), Space: r.space, Subnet: subnet, Range: r.rng, Chassis: chassis}
		err = m.db.CreatePool(ctx, rec, snap.Generation)
		switch {
		case errors.Is(err, ovs.ErrStale):
			return nil, true, nil
		case errors.Is(err, ovs.ErrConflict):
			return nil, false, usererr.Wrap(ErrOverlap, err, "choose another --subnet or remove the network that uses it",
				"pool %s is already allocated in address space %s", subnet, r.space)
		case err != nil:
			return nil, false, err
		}
		m.cfg.Log.WithFields(map[string]any{"pool": PoolID(r.space, subnet), "range": r.rng}).Info("pool allocated")
		return poolResponse(r.space, subnet), false, nil
	})
}

// onSnapshots runs try on a fresh snapshot of the pools until it answers
// without asking to start over (another daemon changed the pools between
// the snapshot and the write), backing off between tries.
func (m *Manager) onSnapshots(ctx context.Context, space string,
	try func(*store.Snapshot) (resp *ipam.RequestPoolResponse, again bool, err error)) (*ipam.RequestPoolResponse, error) {
	for attempt := 0; attempt < maxStaleRetries; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, poolsChanging(space, err)
			}
		}
		snap, err := m.db.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		if resp, again, err := try(snap); !again {
			return resp, err
		}
	}
	return nil, poolsChanging(space, nil)
}

// poolsChanging: other daemons kept creating pools while this one tried to.
func poolsChanging(space string, cause error) error {
	return usererr.Wrap(nil, cause, "try again",
		"the pools of address space %s kept changing while this one was being allocated", space)
}

// choose checks the asked-for subnet, or picks a free default one.
func (m *Manager) choose(r poolRequest, snap *store.Snapshot) (netip.Prefix, error) {
	if r.subnet.IsValid() {
		for _, p := range snap.Pools {
			if p.Space == r.space && p.Subnet.Overlaps(r.subnet) {
				return netip.Prefix{}, usererr.Errorf(ErrOverlap, "choose another --subnet or remove the network that uses it",
					"pool %s overlaps pool %s, already allocated in address space %s", r.subnet, p.Subnet, r.space)
			}
		}
		return r.subnet, nil
	}
	def := m.cfg.IPv4Default
	if r.v6 {
		def = m.cfg.IPv6Default
	}
	taken := append([]netip.Prefix{}, snap.SwitchSubnets...)
	for _, p := range snap.Pools {
		taken = append(taken, p.Subnet)
	}
	subnet, err := PickFree(def.Base, def.Size, taken)
	if errors.Is(err, ErrNoFreePool) {
		return netip.Prefix{}, usererr.Wrap(ErrNoFreePool, err, "give a --subnet or widen the daemon's --default-pool",
			"no free /%d pool is left in the default range %s", def.Size, def.Base)
	}
	if err != nil {
		return netip.Prefix{}, usererr.Wrap(nil, err, "set a --default-pool that fits",
			"the default pool size /%d does not fit the default range %s", def.Size, def.Base)
	}
	return subnet, nil
}

// ReleasePool deletes a pool and its claims; an unknown pool is success.
func (m *Manager) ReleasePool(ctx context.Context, req *ipam.ReleasePoolRequest) error {
	space, subnet, err := ParsePoolID(req.PoolID)
	if err != nil || space == SwarmSpace {
		return err // a node's view: the manager releases the pool
	}
	rec, err := m.db.Find(ctx, space, subnet)
	if errors.Is(err, ovs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Network != "" {
		return m.releaseShared(ctx, rec, req.PoolID)
	}
	if err := m.db.DeletePool(ctx, rec.Name); err != nil {
		return err
	}
	m.forget(req.PoolID)
	m.cfg.Log.WithField("pool", req.PoolID).Info("pool released")
	return nil
}
