package ipam

import (
	"context"
	"errors"
	"net/netip"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// Swarm networks with --ipam-driver openvswitch (the driver run with
// --scope swarm). Docker asks twice for every pool and address:
//   - the swarm's leading manager allocates them, in the global address
//     space, again after every change of leader: a request for what it
//     holds already is answered with it, not refused as taken;
//   - each node then asks for the same pool and the addresses the manager
//     gave, in the local space. A node's pool is a view of the manager's
//     (PoolID "ovnswarm/<subnet>"): its requests confirm the manager's
//     claims and its releases leave them, since the manager releases them
//     when the swarm is done with them and a node's release could free an
//     address the swarm still gives a task.
// Docker's own IPAM cannot tell a replay from a second network either: it
// forgets everything between leaders. Two swarm networks must therefore not
// name one subnet (docs/multihost.md#swarm).

// SwarmSpace is the address space of a node's view of a swarm pool.
const SwarmSpace = "ovnswarm"

// optSerial is set by the swarm manager on its requests; it asks for
// addresses handed out in order, which claimNext does anyway.
const optSerial = "com.docker.network.ipam.serial"

// requestGlobal answers the manager: the pool it allocated already, or a
// new one. Called with createMu held.
func (m *Manager) requestGlobal(ctx context.Context, r poolRequest, chassis string) (*ipam.RequestPoolResponse, error) {
	if r.subnet.IsValid() {
		have, err := m.db.Find(ctx, GlobalSpace, r.subnet)
		if err == nil {
			if r.rng != have.Range {
				return nil, usererr.Errorf(ErrOverlap, "choose another --subnet or remove the network that uses it",
					"swarm pool %s is already allocated with range %s, not %s", have.Subnet, orAll(have.Range), orAll(r.rng))
			}
			return poolResponse(GlobalSpace, have.Subnet), nil
		}
		if !errors.Is(err, ovs.ErrNotFound) {
			return nil, err
		}
	}
	return m.requestOwn(ctx, r, chassis)
}

// nodeView answers a node's local request for the subnet of a swarm pool
// with its view of that pool; ok is false when no swarm pool has it.
func (m *Manager) nodeView(ctx context.Context, r poolRequest) (*ipam.RequestPoolResponse, bool, error) {
	if !m.cfg.Swarm || r.space != LocalSpace || !r.subnet.IsValid() {
		return nil, false, nil
	}
	have, err := m.db.Find(ctx, GlobalSpace, r.subnet)
	if errors.Is(err, ovs.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return poolResponse(SwarmSpace, have.Subnet), true, nil
}

// confirmAddress answers a request on a node's view, or the manager's for
// an address it holds: the address is claimed, by this request or before.
func (m *Manager) confirmAddress(ctx context.Context, rec *store.Pool, pool Pool, s string) (netip.Addr, error) {
	a, err := m.claimExact(ctx, rec, pool, s)
	if errors.Is(err, ErrAllocated) {
		return a, nil
	}
	return a, err
}

// viewAddress serves RequestAddress on a node's view of a swarm pool. The
// manager gives every address; a node asking for one itself is not Docker.
func (m *Manager) viewAddress(ctx context.Context, req *ipam.RequestAddressRequest, rec *store.Pool, pool Pool) (netip.Addr, error) {
	if req.Address == "" {
		return netip.Addr{}, usererr.Errorf(ErrUnknownPool, notDocker,
			"pool %s belongs to a swarm network, whose addresses the swarm manager chooses, and this request names none", pool.Subnet)
	}
	return m.confirmAddress(ctx, rec, pool, req.Address)
}
