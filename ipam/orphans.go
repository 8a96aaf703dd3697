package ipam

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// ReleaseOrphans releases the claims, in pools of networks this host
// created, that no endpoint, gateway or aux reservation holds (inUse, from
// driver.AddressesInUse) once they have looked so on every pass for the
// orphan grace period: a RequestAddress is answered before Docker calls
// CreateEndpoint, so a fresh claim looks orphaned for a moment. Pools of
// networks not in inUse (another host's, another driver's) are left alone.
func (m *Manager) ReleaseOrphans(ctx context.Context, inUse map[netip.Prefix]map[netip.Addr]bool) ([]string, error) {
	snap, err := m.store.IPAMSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	claimed, err := m.store.IPAMClaimed(ctx)
	if err != nil {
		return nil, err
	}
	pools := map[string]Pool{}
	var suspects []string
	for _, rec := range snap.Pools {
		held, ok := inUse[rec.Subnet]
		if !ok {
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
	for _, key := range m.orphans.Observe(suspects, time.Now()) {
		name, s, _ := strings.Cut(key, " ")
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if err := m.store.IPAMRelease(ctx, name, pools[name].Block(a), a); err != nil {
			return released, err
		}
		m.cfg.Log.WithFields(map[string]any{"pool": pools[name].Subnet, "address": a}).Warn("reconcile: released an orphaned address claim")
		released = append(released, a.String())
	}
	return released, nil
}
