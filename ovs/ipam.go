package ovs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// IPAM state is kept in Address_Set rows, all carrying the owner mark:
//   - one "generation" row, ovn_docker_ipam, whose counter every pool
//     creation bumps: a creation that saw generation G fails if another
//     daemon created a pool since, so overlap checks are never raced;
//   - one row per pool, named from its space and subnet, with the subnet,
//     range and allocation cursor in external_ids and no addresses;
//   - one row per block of 256 addresses of a pool, created on first use,
//     whose addresses are the claimed ones. A claim is a "wait" that fails
//     if the block already holds the address, then an insert: atomic across
//     daemons, and it touches one small row whatever the pool's size.
const (
	ipamKindKey   = "docker:ipam-kind" // generation, pool or block
	ipamPoolKey   = "docker:ipam-pool" // the pool row's name, on the pool and its blocks
	ipamSpaceKey  = "docker:ipam-space"
	ipamSubnetKey = "docker:ipam-subnet"
	ipamRangeKey  = "docker:ipam-range"
	ipamLastKey   = "docker:ipam-last"
	ipamGenKey    = "docker:ipam-generation"
	ipamGenRow    = "ovn_docker_ipam"
	ipamHostKey   = chassisKey // the chassis whose daemon created the pool
)

// ErrStale means the pools changed since the caller's snapshot.
var ErrStale = errors.New("changed since it was read")

// ErrTaken means an address claim lost: the address is already claimed.
var ErrTaken = errors.New("already claimed")

// IPAMPool is a stored pool.
type IPAMPool struct {
	Name   string // row name, see PoolRowName
	Space  string
	Subnet netip.Prefix
	Range  netip.Prefix // invalid when the pool has no sub-range
	Last   netip.Addr   // the last address handed out dynamically, if any
	// Chassis is the chassis whose daemon created the pool: only that
	// host's reconciliation may remove it once its Docker engine forgets
	// the network. Empty on pools made before it was recorded.
	Chassis string
}

// PoolRowName names a pool's row; space must be [a-z]+.
func PoolRowName(space string, subnet netip.Prefix) string {
	b := subnet.Masked().Addr().AsSlice()
	return fmt.Sprintf("%s_%s_%x_%d", ipamGenRow, space, b, subnet.Bits())
}

func blockRowName(pool, block string) string { return pool + "_" + block }

// IPAMSnapshot is a consistent view of what pool creation must not overlap.
type IPAMSnapshot struct {
	Generation    string
	Pools         []IPAMPool
	SwitchSubnets []netip.Prefix // subnets recorded on any logical switch
}

func ipamMark(kind string, extra map[string]string) ovsdb.OvsMap {
	m := map[string]string{OwnerKey: OwnerValue, ipamKindKey: kind}
	for k, v := range extra {
		m[k] = v
	}
	return strMap(m)
}

func ipamKind(kind string) ovsdb.Condition {
	return ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes,
		strMap(map[string]string{OwnerKey: OwnerValue, ipamKindKey: kind}))
}

// ensureGeneration creates the generation row unless it exists.
func (nb *NB) ensureGeneration(ctx context.Context) error {
	_, err := nb.transactIdempotent(ctx,
		guard(nbdb.AddressSetTable, false, ipamGenRow),
		insertOp(nbdb.AddressSetTable, "", ovsdb.Row{"name": ipamGenRow,
			"external_ids": ipamMark("generation", map[string]string{ipamGenKey: "0"})}),
	)
	if err != nil && !failedAt(err, 0) {
		return nb.failed(err, "create the IPAM generation row "+ipamGenRow)
	}
	return nil
}

// IPAMSnapshot reads the generation, every pool and every switch's subnets
// in one transaction. It writes nothing: `ovn-docker status` and
// reconciliation use it too. Before the first pool is ever created the
// generation row does not exist and Generation is "".
func (nb *NB) IPAMSnapshot(ctx context.Context) (*IPAMSnapshot, error) {
	res, err := nb.transactIdempotent(ctx,
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{nameIs(ipamGenRow)}},
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{ipamKind("pool")}},
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.LogicalSwitchTable,
			Columns: []string{"name", "external_ids", "other_config"}},
	)
	if err != nil {
		return nil, nb.failed(err, "read the IPAM pools")
	}
	gen, err := decodeRows[*nbdb.AddressSet](nb.conn, nbdb.AddressSetTable, res[0].Rows)
	if err != nil {
		return nil, err
	}
	snap := &IPAMSnapshot{}
	if len(gen) == 1 {
		snap.Generation = gen[0].ExternalIDs[ipamGenKey]
	}
	pools, err := decodeRows[*nbdb.AddressSet](nb.conn, nbdb.AddressSetTable, res[1].Rows)
	if err != nil {
		return nil, err
	}
	for _, r := range pools {
		if p, ok := poolFromRow(r); ok {
			snap.Pools = append(snap.Pools, p)
		}
	}
	switches, err := decodeRows[*nbdb.LogicalSwitch](nb.conn, nbdb.LogicalSwitchTable, res[2].Rows)
	if err != nil {
		return nil, err
	}
	for _, ls := range switches {
		snap.SwitchSubnets = append(snap.SwitchSubnets, switchSubnets(ls)...)
	}
	return snap, nil
}

// switchSubnets collects what a switch says of its subnets: ours in
// external_ids, OVN's own IPAM in other_config.
func switchSubnets(ls *nbdb.LogicalSwitch) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range append(splitList(ls.ExternalIDs[subnetsKey]), ls.OtherConfig["subnet"], ls.OtherConfig["ipv6_prefix"]) {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") { // ipv6_prefix may come without a length
			s += "/64"
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func poolFromRow(r *nbdb.AddressSet) (IPAMPool, bool) {
	ids := r.ExternalIDs
	subnet, err := netip.ParsePrefix(ids[ipamSubnetKey])
	if err != nil {
		return IPAMPool{}, false
	}
	p := IPAMPool{Name: r.Name, Space: ids[ipamSpaceKey], Subnet: subnet, Chassis: ids[ipamHostKey]}
	p.Range, _ = netip.ParsePrefix(ids[ipamRangeKey])
	p.Last, _ = netip.ParseAddr(ids[ipamLastKey])
	return p, true
}

// CreateIPAMPool stores a pool, provided no pool was created since the
// snapshot of the given generation (ErrStale) and the name is free
// (ErrConflict). Generation "" (no pool was ever made) creates the
// generation row first.
func (nb *NB) CreateIPAMPool(ctx context.Context, p IPAMPool, generation string) error {
	if generation == "" {
		if err := nb.ensureGeneration(ctx); err != nil {
			return err
		}
		generation = "0"
	}
	n, err := strconv.Atoi(generation)
	if err != nil {
		return usererr.Errorf(nil, "check what changed it",
			"the IPAM generation row %s in the %s holds %q, not a number", ipamGenRow, nb.name, generation)
	}
	ids := map[string]string{ipamPoolKey: p.Name, ipamSpaceKey: p.Space, ipamSubnetKey: p.Subnet.String(), ipamHostKey: p.Chassis}
	if p.Range.IsValid() {
		ids[ipamRangeKey] = p.Range.String()
	}
	_, err = nb.transact(ctx,
		guard(nbdb.AddressSetTable, true, ipamGenRow, ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes,
			strMap(map[string]string{ipamGenKey: generation}))),
		setKey(nbdb.AddressSetTable, ipamGenRow, ipamGenKey, strconv.Itoa(n+1)),
		guard(nbdb.AddressSetTable, false, p.Name),
		insertOp(nbdb.AddressSetTable, "", ovsdb.Row{"name": p.Name, "external_ids": ipamMark("pool", ids)}),
	)
	switch {
	case err == nil:
		return nil
	case failedAt(err, 0):
		return ErrStale
	case failedAt(err, 2):
		return usererr.Errorf(ErrConflict, "choose another subnet", "IPAM pool %s is already in the %s", p.Name, nb.name)
	}
	return nb.failed(err, "create IPAM pool "+p.Name)
}

// setKey sets one key of a map column of the row named name.
func setKey(table, name, key, value string) ovsdb.Operation {
	return ovsdb.Operation{
		Op: ovsdb.OperationMutate, Table: table, Where: []ovsdb.Condition{nameIs(name)},
		Mutations: []ovsdb.Mutation{
			*ovsdb.NewMutation("external_ids", ovsdb.MutateOperationDelete, ovsdb.OvsSet{GoSet: []any{key}}),
			*ovsdb.NewMutation("external_ids", ovsdb.MutateOperationInsert, strMap(map[string]string{key: value})),
		},
	}
}

// IPAMPool returns the stored pool named name (ErrNotFound if none).
func (nb *NB) IPAMPool(ctx context.Context, name string) (*IPAMPool, error) {
	row, err := getByName(ctx, nb.conn, nbdb.AddressSetTable, name, &nbdb.AddressSet{Name: name})
	if err != nil {
		return nil, err
	}
	p, ok := poolFromRow(row)
	if !ok || row.ExternalIDs[ipamKindKey] != "pool" {
		return nil, nb.notFound("IPAM pool " + name)
	}
	return &p, nil
}

// DeleteIPAMPool deletes a pool and its blocks; an absent pool is success.
func (nb *NB) DeleteIPAMPool(ctx context.Context, name string) error {
	_, err := nb.transactIdempotent(ctx, ovsdb.Operation{Op: ovsdb.OperationDelete, Table: nbdb.AddressSetTable,
		Where: []ovsdb.Condition{ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes,
			strMap(map[string]string{OwnerKey: OwnerValue, ipamPoolKey: name}))}})
	if err != nil {
		return nb.failed(err, "delete IPAM pool "+name)
	}
	return nil
}

// IPAMUsed returns the claimed addresses of one block as the cache has
// them. It may lag; claims are decided by IPAMClaim's transaction. After a
// reconnect libovsdb waits for its cache to catch up, up to ctx's end.
func (nb *NB) IPAMUsed(ctx context.Context, pool, block string) []netip.Addr {
	if !nb.isReady() {
		return nil
	}
	row := &nbdb.AddressSet{Name: blockRowName(pool, block)}
	if nb.client.Get(ctx, row) != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(row.Addresses))
	for _, s := range row.Addresses {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// IPAMClaim claims address a in the given block of pool; ErrTaken if it is
// claimed already, ErrNotFound if the pool is gone. With cursor, the pool's
// allocation cursor moves to a in the same transaction.
func (nb *NB) IPAMClaim(ctx context.Context, pool, block string, a netip.Addr, cursor bool) error {
	for attempt := 0; attempt < 3; attempt++ {
		done, err := nb.claimInBlock(ctx, pool, block, a, cursor)
		if err != nil || done {
			return err
		}
		// No block row yet: create it holding a. If another daemon creates
		// it first, the guard fails and the claim above is tried again.
		err = nb.claimNewBlock(ctx, pool, block, a, cursor)
		if !errors.Is(err, ErrStale) {
			return err
		}
	}
	return usererr.Errorf(nil, "try again", "address %s could not be claimed in IPAM pool %s: its block kept changing", a, pool)
}

// claimInBlock reports done=false when the block row does not exist.
func (nb *NB) claimInBlock(ctx context.Context, pool, block string, a netip.Addr, cursor bool) (bool, error) {
	row := blockRowName(pool, block)
	set := strSet([]string{a.String()})
	ops := []ovsdb.Operation{
		guard(nbdb.AddressSetTable, true, pool),
		// Fails at once if the block already holds a.
		guard(nbdb.AddressSetTable, false, row, ovsdb.NewCondition("addresses", ovsdb.ConditionIncludes, set)),
		{Op: ovsdb.OperationMutate, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{nameIs(row)},
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("addresses", ovsdb.MutateOperationInsert, set)}},
	}
	if cursor {
		ops = append(ops, setKey(nbdb.AddressSetTable, pool, ipamLastKey, a.String()))
	}
	res, err := nb.transact(ctx, ops...)
	switch {
	case failedAt(err, 0):
		return false, nb.notFound("IPAM pool " + pool)
	case failedAt(err, 1):
		return false, usererr.Errorf(ErrTaken, "choose another address", "address %s is already claimed in IPAM pool %s", a, pool)
	case err != nil:
		return false, nb.failed(err, "claim address "+a.String()+" in IPAM pool "+pool)
	}
	return count(res, 2) == 1, nil
}

func (nb *NB) claimNewBlock(ctx context.Context, pool, block string, a netip.Addr, cursor bool) error {
	row := blockRowName(pool, block)
	ops := []ovsdb.Operation{
		guard(nbdb.AddressSetTable, true, pool),
		guard(nbdb.AddressSetTable, false, row),
		insertOp(nbdb.AddressSetTable, "", ovsdb.Row{"name": row, "addresses": strSet([]string{a.String()}),
			"external_ids": ipamMark("block", map[string]string{ipamPoolKey: pool})}),
	}
	if cursor {
		ops = append(ops, setKey(nbdb.AddressSetTable, pool, ipamLastKey, a.String()))
	}
	_, err := nb.transact(ctx, ops...)
	switch {
	case failedAt(err, 0):
		return nb.notFound("IPAM pool " + pool)
	case failedAt(err, 1):
		return ErrStale
	case err != nil:
		return nb.failed(err, "claim address "+a.String()+" in IPAM pool "+pool)
	}
	return nil
}

// IPAMRelease releases a claim; releasing what is not claimed is success.
func (nb *NB) IPAMRelease(ctx context.Context, pool, block string, a netip.Addr) error {
	_, err := nb.transactIdempotent(ctx, ovsdb.Operation{
		Op: ovsdb.OperationMutate, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{nameIs(blockRowName(pool, block))},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("addresses", ovsdb.MutateOperationDelete, strSet([]string{a.String()}))},
	})
	if err != nil {
		return nb.failed(err, "release address "+a.String()+" of IPAM pool "+pool)
	}
	return nil
}
