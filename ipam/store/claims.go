package store

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Used returns the claimed addresses of one block as the cache has them.
// It may lag; claims are decided by Claim's transaction. After a
// reconnect libovsdb waits for its cache to catch up, up to ctx's end.
func (s *Store) Used(ctx context.Context, pool, block string) []netip.Addr {
	if !s.c.Ready() {
		return nil
	}
	row := &nbdb.AddressSet{Name: blockRowName(pool, block)}
	if s.c.DB().Get(ctx, row) != nil {
		return nil
	}
	return blockClaims(row, nil)
}

// claimPrefix starts the external_ids key of a claim; its value is always
// claimValue, so that a guard can name the exact pair.
const (
	claimPrefix = "docker:ipam-claim:"
	claimValue  = ""
)

func claimKey(a netip.Addr) string { return claimPrefix + a.String() }

// legacy reports whether pool keeps its claims in its blocks' addresses.
func legacy(pool string) bool { return !strings.HasPrefix(pool, poolPrefix+"_") }

// blockClaims appends the block's claims to out, from either column: a
// block holds only one kind, so it needs no word on which.
func blockClaims(row *nbdb.AddressSet, out []netip.Addr) []netip.Addr {
	for _, v := range row.Addresses {
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, a)
		}
	}
	for k := range row.ExternalIDs {
		if v, ok := strings.CutPrefix(k, claimPrefix); ok {
			if a, err := netip.ParseAddr(v); err == nil {
				out = append(out, a)
			}
		}
	}
	return out
}

// claimedCond selects a block that holds a claim of a.
func claimedCond(pool string, a netip.Addr) ovsdb.Condition {
	if legacy(pool) {
		return conn.SetIncludes("addresses", a.String())
	}
	return conn.Includes("external_ids", map[string]string{claimKey(a): claimValue})
}

// claimMutation inserts (or deletes) the claim of a in a block of pool.
func claimMutation(as *nbdb.AddressSet, pool string, a netip.Addr, m ovsdb.Mutator) model.Mutation {
	if legacy(pool) {
		return model.Mutation{Field: &as.Addresses, Mutator: m, Value: []string{a.String()}}
	}
	if m == ovsdb.MutateOperationDelete {
		return model.Mutation{Field: &as.ExternalIDs, Mutator: m, Value: []string{claimKey(a)}}
	}
	return model.Mutation{Field: &as.ExternalIDs, Mutator: m, Value: map[string]string{claimKey(a): claimValue}}
}

// newBlock is the row of pool's block that holds the one claim of a.
func newBlock(pool, block string, a netip.Addr) *nbdb.AddressSet {
	as := &nbdb.AddressSet{Name: blockRowName(pool, block), ExternalIDs: mark("block", map[string]string{poolKey: pool})}
	if legacy(pool) {
		as.Addresses = []string{a.String()}
	} else {
		as.ExternalIDs[claimKey(a)] = claimValue
	}
	return as
}

// Claim claims address a in the given block of pool; ovs.ErrTaken if it is
// claimed already, ovs.ErrNotFound if the pool is gone. With cursor, the
// pool's allocation cursor moves to a in the same transaction.
func (s *Store) Claim(ctx context.Context, pool, block string, a netip.Addr, cursor bool) error {
	return s.claim(ctx, pool, block, a, claimHow{cursor: cursor})
}

// ClaimGateway claims a as shared pool's gateway, in the same transaction
// that records it on the pool, provided no host recorded one first; it
// returns the pool's gateway: a, or the one recorded first.
func (s *Store) ClaimGateway(ctx context.Context, pool, block string, a netip.Addr) (netip.Addr, error) {
	err := s.claim(ctx, pool, block, a, claimHow{gateway: true})
	if !errors.Is(err, ovs.ErrStale) {
		return a, err
	}
	// Read from the server: this daemon's cache may not have the other
	// host's write yet.
	rows, err := conn.Select[*nbdb.AddressSet](ctx, s.c.Conn, nbdb.AddressSetTable, conn.NameIs(pool))
	if err != nil {
		return a, err
	}
	if len(rows) == 0 {
		return a, s.c.NotFound("IPAM pool " + pool)
	}
	gw, err := netip.ParseAddr(rows[0].ExternalIDs[gatewayKey])
	if err != nil {
		return a, usererr.Errorf(nil, "remove the network and create it again",
			"IPAM pool %s records gateway %q, which is not an address", pool, rows[0].ExternalIDs[gatewayKey])
	}
	return gw, nil
}

type claimHow struct{ cursor, gateway bool }

func (s *Store) claim(ctx context.Context, pool, block string, a netip.Addr, how claimHow) error {
	for attempt := 0; attempt < 3; attempt++ {
		done, err := s.claimInBlock(ctx, pool, block, a, how)
		if err != nil || done {
			return err
		}
		// No block row yet: create it holding a. If another daemon creates
		// it first, the guard fails and the claim above is tried again.
		err = s.claimNewBlock(ctx, pool, block, a, how)
		if !errors.Is(err, errNoBlock) {
			return err
		}
	}
	return usererr.Errorf(nil, "try again", "address %s could not be claimed in IPAM pool %s: its block kept changing", a, pool)
}

// errNoBlock: another daemon made the block first; claim in it instead.
var errNoBlock = errors.New("the block appeared meanwhile")

// claimGuard makes a gateway's claim fail with "unset" when the pool has a
// gateway already; it goes before the address's own guard, so that a
// gateway another host recorded reads as that, not as a taken address.
func claimGuard(tx *conn.Tx, pool string, how claimHow) {
	if how.gateway {
		tx.Add("unset")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, pool,
			conn.Includes("external_ids", map[string]string{gatewayKey: ""}))))
	}
}

// claimEffects adds what a claim also does: move the cursor, or record a
// shared pool's gateway.
func (s *Store) claimEffects(tx *conn.Tx, pool string, a netip.Addr, how claimHow) {
	if how.cursor {
		tx.Add("cursor")(s.setKey(pool, lastKey, a.String()))
	}
	if how.gateway {
		tx.Add("gateway")(s.setKey(pool, gatewayKey, a.String()))
	}
}

// claimInBlock reports done=false when the block row does not exist.
func (s *Store) claimInBlock(ctx context.Context, pool, block string, a netip.Addr, how claimHow) (bool, error) {
	row := blockRowName(pool, block)
	tx, err := s.c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("pool")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, pool)))
	// Without the block nothing else may happen: the cursor or a shared
	// pool's gateway would move to an address no block holds.
	tx.Add("block")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, row)))
	claimGuard(tx, pool, how)
	// Fails at once if the block already holds a.
	tx.Add("free")(conn.Guard(conn.Named(nbdb.AddressSetTable, false, row, claimedCond(pool, a))))
	as := &nbdb.AddressSet{Name: row}
	tx.Add("claim")(s.c.DB().Where(as).Mutate(as, claimMutation(as, pool, a, ovsdb.MutateOperationInsert)))
	// An insert leaves a key already there alone: if someone set the key
	// to another value, "free" passed but the claim is not ours.
	tx.Add("held")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, row, claimedCond(pool, a))))
	s.claimEffects(tx, pool, a, how)
	if err := tx.Err(); err != nil {
		return false, err
	}
	_, err = s.c.Transact(ctx, tx.Ops...)
	switch {
	case tx.FailedIn(err, "pool"):
		return false, s.c.NotFound("IPAM pool " + pool)
	case tx.FailedIn(err, "block"):
		return false, nil
	case tx.FailedIn(err, "unset"):
		return false, ovs.ErrStale
	case tx.FailedIn(err, "free"), tx.FailedIn(err, "held"):
		return false, usererr.Errorf(ovs.ErrTaken, "choose another address", "address %s is already claimed in IPAM pool %s", a, pool)
	case err != nil:
		return false, s.c.Failed(err, "claim address "+a.String()+" in IPAM pool "+pool)
	}
	return true, nil
}

func (s *Store) claimNewBlock(ctx context.Context, pool, block string, a netip.Addr, how claimHow) error {
	row := blockRowName(pool, block)
	tx, err := s.c.NewTx(ctx)
	if err != nil {
		return err
	}
	tx.Add("pool")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, pool)))
	claimGuard(tx, pool, how)
	tx.Add("absent")(conn.Guard(conn.Named(nbdb.AddressSetTable, false, row)))
	tx.Add("create")(s.c.DB().Create(newBlock(pool, block, a)))
	s.claimEffects(tx, pool, a, how)
	if err := tx.Err(); err != nil {
		return err
	}
	_, err = s.c.Transact(ctx, tx.Ops...)
	switch {
	case tx.FailedIn(err, "pool"):
		return s.c.NotFound("IPAM pool " + pool)
	case tx.FailedIn(err, "unset"):
		return ovs.ErrStale
	case tx.FailedIn(err, "absent"):
		return errNoBlock
	case err != nil:
		return s.c.Failed(err, "claim address "+a.String()+" in IPAM pool "+pool)
	}
	return nil
}

// Release releases a claim; releasing what is not claimed is success.
func (s *Store) Release(ctx context.Context, pool, block string, a netip.Addr) error {
	if err := s.c.WaitReady(ctx); err != nil {
		return err
	}
	as := &nbdb.AddressSet{Name: blockRowName(pool, block)}
	ops, err := s.c.DB().Where(as).Mutate(as, claimMutation(as, pool, a, ovsdb.MutateOperationDelete))
	if err != nil {
		return err
	}
	if _, err := s.c.TransactIdempotent(ctx, ops...); err != nil {
		return s.c.Failed(err, "release address "+a.String()+" of IPAM pool "+pool)
	}
	return nil
}

// Claimed lists the claimed addresses of every pool, by pool row name, as
// the server has them.
func (s *Store) Claimed(ctx context.Context) (map[string][]netip.Addr, error) {
	rows, err := conn.Select[*nbdb.AddressSet](ctx, s.c.Conn, nbdb.AddressSetTable, ofKind("block"))
	if err != nil {
		return nil, err
	}
	out := map[string][]netip.Addr{}
	for _, r := range rows {
		pool := r.ExternalIDs[poolKey]
		out[pool] = blockClaims(r, out[pool])
	}
	for _, addrs := range out {
		slices.SortFunc(addrs, netip.Addr.Compare)
	}
	return out, nil
}

// Claims counts the claimed addresses of every pool, by pool row name.
func (s *Store) Claims(ctx context.Context) (map[string]int, error) {
	claimed, err := s.Claimed(ctx)
	if err != nil {
		return nil, err
	}
	n := make(map[string]int, len(claimed))
	for pool, addrs := range claimed {
		n[pool] = len(addrs)
	}
	return n, nil
}
