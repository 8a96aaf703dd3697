package ipam

import (
	"context"
	"errors"
	"net/netip"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/faults"
	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// Docker's RequestAddress option marking the gateway's request.
const (
	optRequestType = "RequestAddressType"
	gatewayType    = "com.docker.network.gateway"
)

// maxLostClaims bounds how many candidates one dynamic request may lose to
// other daemons before it gives up.
const maxLostClaims = 64

// RequestAddress grants the address asked for exactly, or the next free one.
func (m *Manager) RequestAddress(ctx context.Context, req *ipam.RequestAddressRequest) (*ipam.RequestAddressResponse, error) {
	rec, pool, err := m.loadPool(ctx, req.PoolID)
	if err != nil {
		return nil, err
	}
	space, _, _ := ParsePoolID(req.PoolID)
	var a netip.Addr
	switch {
	case space == SwarmSpace:
		a, err = m.viewAddress(ctx, req, rec, pool)
	case space == GlobalSpace && req.Address != "":
		a, err = m.confirmAddress(ctx, rec, pool, req.Address)
	case req.Options[optRequestType] == gatewayType && rec.Network != "":
		a, err = m.sharedGateway(ctx, rec, pool, req.Address)
	case req.Address != "":
		a, err = m.claimExact(ctx, rec, pool, req.Address)
	case req.Options[optRequestType] == gatewayType:
		a, err = m.claimGateway(ctx, req.PoolID, rec, pool)
	default:
		a, err = m.claimNext(ctx, req.PoolID, rec, pool)
	}
	if err != nil {
		return nil, err
	}
	faults.Point(m.cfg.Log, "request-address")
	return &ipam.RequestAddressResponse{Address: netip.PrefixFrom(a, pool.Subnet.Bits()).String(), Data: map[string]string{}}, nil
}

func (m *Manager) claimExact(ctx context.Context, rec *store.Pool, pool Pool, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, usererr.Errorf(nil, "give a valid one with --ip", "%q is not an IP address", s)
	}
	if !pool.Subnet.Contains(a) {
		return a, usererr.Errorf(ErrOutOfPool, "choose an --ip inside it", "address %s is outside pool %s", a, pool.Subnet)
	}
	if !pool.Allocatable(a) {
		return a, usererr.Errorf(ErrOutOfPool, "choose another --ip",
			"address %s is reserved in pool %s (network or broadcast address)", a, pool.Subnet)
	}
	err = m.db.Claim(ctx, rec.Name, pool.Block(a), a, false)
	if errors.Is(err, ovs.ErrTaken) {
		return a, usererr.Wrap(ErrAllocated, err, "choose another --ip", "address %s is already in use in pool %s", a, pool.Subnet)
	}
	return a, m.poolGone(err, pool)
}

// claimGateway gives the gateway the subnet's first host address, as
// Docker's own IPAM does, or the next free one if that is taken.
func (m *Manager) claimGateway(ctx context.Context, id string, rec *store.Pool, pool Pool) (netip.Addr, error) {
	a, err := m.claimExact(ctx, rec, pool, pool.Gateway().String())
	if errors.Is(err, ErrAllocated) {
		return m.claimNext(ctx, id, rec, pool)
	}
	return a, err
}

// claimNext claims the next free address after the pool's cursor. Claims
// of one pool are serialised in this daemon; across daemons the store's
// transaction decides, and a lost candidate is skipped.
func (m *Manager) claimNext(ctx context.Context, id string, rec *store.Pool, pool Pool) (netip.Addr, error) {
	l := m.poolLock(id)
	l.Lock()
	defer l.Unlock()
	after, ok := m.cursor(id)
	if !ok {
		after = rec.Last
	}
	lost := map[netip.Addr]bool{}
	used := func(block string) ([]netip.Addr, error) {
		u := m.db.Used(ctx, rec.Name, block)
		for a := range lost {
			if pool.Block(a) == block {
				u = append(u, a)
			}
		}
		return u, nil
	}
	for len(lost) < maxLostClaims {
		a, err := pool.Next(after, used)
		if errors.Is(err, ErrFull) {
			return a, usererr.Wrap(ErrFull, err, "remove unused containers or create the network again with a larger --subnet",
				"pool %s has no free addresses%s", pool.Subnet, rangeNote(pool))
		}
		if err != nil {
			return a, err
		}
		err = m.db.Claim(ctx, rec.Name, pool.Block(a), a, true)
		if errors.Is(err, ovs.ErrTaken) {
			lost[a], after = true, a
			continue
		}
		if err != nil {
			return a, m.poolGone(err, pool)
		}
		m.setCursor(id, a)
		return a, nil
	}
	return netip.Addr{}, usererr.Errorf(nil, "try again",
		"in pool %s, %d addresses in a row were claimed by other hosts first", pool.Subnet, maxLostClaims)
}

func rangeNote(p Pool) string {
	if p.Range != p.Subnet {
		return " in range " + p.Range.String()
	}
	return ""
}

func (m *Manager) poolGone(err error, pool Pool) error {
	if errors.Is(err, ovs.ErrNotFound) {
		return usererr.Wrap(ErrUnknownPool, err, "remove the network and create it again",
			"pool %s was released while an address was being claimed in it", pool.Subnet)
	}
	return err
}

// ReleaseAddress releases a claim; an unknown pool or address is success.
func (m *Manager) ReleaseAddress(ctx context.Context, req *ipam.ReleaseAddressRequest) error {
	rec, pool, err := m.loadPool(ctx, req.PoolID)
	if errors.Is(err, ErrUnknownPool) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(req.Address)
	if err != nil {
		if p, perr := netip.ParsePrefix(req.Address); perr == nil {
			a, err = p.Addr(), nil
		}
	}
	if err != nil {
		return usererr.Errorf(nil, notDocker, "%q is not an IP address", req.Address)
	}
	space, _, _ := ParsePoolID(req.PoolID)
	if !pool.Subnet.Contains(a) || (rec.Network != "" && a == rec.Gateway) || space == SwarmSpace {
		// A shared pool's gateway is every host's: it goes with the pool.
		// A swarm pool's claims are the manager's to release.
		return nil
	}
	return m.db.Release(ctx, rec.Name, pool.Block(a), a)
}
