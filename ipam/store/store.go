// Package store keeps IPAM's pools and claims in the OVN Northbound
// database, as Address_Set rows carrying the owner mark, on the
// Northbound connection (whose monitors follow our address sets):
//   - one "generation" row, ovn_docker_ipam, whose counter every pool
//     creation bumps: a creation that saw generation G fails if another
//     daemon created a pool since, so overlap checks are never raced;
//   - one row per pool, named from its space and subnet (RowName), with the
//     subnet, range, allocation cursor and creating chassis in external_ids
//     and no addresses;
//   - one row per block of 256 addresses of a pool, created on first use,
//     whose external_ids hold a key docker:ipam-claim:<address> per claimed
//     address. A claim is a "wait" that fails if the block already holds
//     the key, the insert, and a "wait" that the key is now ours: atomic
//     across daemons, and it touches one row of at most 256 keys whatever
//     the pool's size.
//
// Claims are keys of external_ids, not the rows' addresses, because
// ovn-northd copies every Address_Set's addresses to the Southbound
// database and every ovn-controller of the deployment processes each
// change; external_ids stay in NB. Pools made before that (legacy, named
// by legacyRowName) keep their claims in addresses for as long as they
// live: daemons of before that change may share them, and those only look
// there. They never claim in a pool of the new name, as they look pools up
// by the old one: they fail (docs/design.md says how) rather than hand out
// an address twice.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

const (
	kindKey   = "docker:ipam-kind" // generation, pool or block
	poolKey   = "docker:ipam-pool" // the pool row's name, on the pool and its blocks
	spaceKey  = "docker:ipam-space"
	subnetKey = "docker:ipam-subnet"
	rangeKey  = "docker:ipam-range"
	lastKey   = "docker:ipam-last"
	genKey    = "docker:ipam-generation"
	genRow    = "ovn_docker_ipam"
	// poolPrefix starts the names of pools whose claims are in their
	// blocks' external_ids (see the package comment).
	poolPrefix = "ovn_docker_pool"
)

// Store is IPAM's storage in NB.
type Store struct{ c *nb.Client }

// New returns the store on the Northbound client c.
func New(c *nb.Client) *Store { return &Store{c: c} }

// Pool is a stored pool.
type Pool struct {
	Name   string // row name, see RowName
	Space  string
	Subnet netip.Prefix
	Range  netip.Prefix // invalid when the pool has no sub-range
	Last   netip.Addr   // the last address handed out dynamically, if any
	// Chassis is the chassis whose daemon created the pool: only that
	// host's reconciliation may remove it once its Docker engine forgets
	// the network. Empty on pools made before it was recorded.
	Chassis string
	// Network is the ovn.network name of a pool shared by the hosts of that
	// network (--ipam-opt ovn.network=NAME); empty for a host's own pool.
	Network string
	// Refs are the chassis whose networks use a shared pool; it goes with
	// the last.
	Refs []string
	// Gateway is a shared pool's gateway, claimed once for every host.
	Gateway netip.Addr
}

// RowName names a new pool's row; space must be [a-z]+.
func RowName(space string, subnet netip.Prefix) string { return rowName(poolPrefix, space, subnet) }

// legacyRowName names the row of a pool made before claims moved to
// external_ids.
func legacyRowName(space string, subnet netip.Prefix) string {
	return rowName(genRow, space, subnet)
}

func rowName(prefix, space string, subnet netip.Prefix) string {
	b := subnet.Masked().Addr().AsSlice()
	return fmt.Sprintf("%s_%s_%x_%d", prefix, space, b, subnet.Bits())
}

func blockRowName(pool, block string) string { return pool + "_" + block }

// Snapshot is a consistent view of what pool creation must not overlap.
type Snapshot struct {
	Generation    string
	Pools         []Pool
	SwitchSubnets []netip.Prefix // subnets recorded on any logical switch
}

func mark(kind string, extra map[string]string) map[string]string {
	m := ovs.Mark(extra)
	m[kindKey] = kind
	return m
}

func ofKind(kind string) ovsdb.Condition {
	return conn.Includes("external_ids", mark(kind, nil))
}

func poolFromRow(r *nbdb.AddressSet) (Pool, bool) {
	ids := r.ExternalIDs
	subnet, err := netip.ParsePrefix(ids[subnetKey])
	if err != nil {
		return Pool{}, false
	}
	p := Pool{Name: r.Name, Space: ids[spaceKey], Subnet: subnet, Chassis: ids[nb.ChassisKey], Network: ids[networkKey]}
	p.Range, _ = netip.ParsePrefix(ids[rangeKey])
	p.Last, _ = netip.ParseAddr(ids[lastKey])
	p.Gateway, _ = netip.ParseAddr(ids[gatewayKey])
	p.Refs = poolRefs(ids)
	return p, true
}

// setKey is the mutation that sets one key of the row's external_ids.
func (s *Store) setKey(name, key, value string) ([]ovsdb.Operation, error) {
	as := &nbdb.AddressSet{Name: name}
	return s.c.DB().Where(as).Mutate(as,
		model.Mutation{Field: &as.ExternalIDs, Mutator: ovsdb.MutateOperationDelete, Value: []string{key}},
		model.Mutation{Field: &as.ExternalIDs, Mutator: ovsdb.MutateOperationInsert, Value: map[string]string{key: value}})
}

// ensureGeneration creates the generation row unless it exists.
func (s *Store) ensureGeneration(ctx context.Context) error {
	tx, err := s.c.NewTx(ctx)
	if err != nil {
		return err
	}
	tx.Add("absent")(conn.Guard(conn.Named(nbdb.AddressSetTable, false, genRow)))
	tx.Add("create")(s.c.DB().Create(&nbdb.AddressSet{Name: genRow, ExternalIDs: mark("generation", map[string]string{genKey: "0"})}))
	if err := tx.Err(); err != nil {
		return err
	}
	_, err = s.c.TransactIdempotent(ctx, tx.Ops...)
	if err != nil && !tx.FailedIn(err, "absent") {
		return s.c.Failed(err, "create the IPAM generation row "+genRow)
	}
	return nil
}

// Snapshot reads the generation, every pool and every switch's subnets in
// one transaction. It writes nothing: `ovn-docker status` and
// reconciliation use it too. Before the first pool is ever created the
// generation row does not exist and Generation is "".
func (s *Store) Snapshot(ctx context.Context) (*Snapshot, error) {
	res, err := s.c.TransactIdempotent(ctx,
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{conn.NameIs(genRow)}},
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{ofKind("pool")}},
		ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.LogicalSwitchTable, Where: []ovsdb.Condition{},
			Columns: []string{"name", "external_ids", "other_config"}},
	)
	if err != nil {
		return nil, s.c.Failed(err, "read the IPAM pools")
	}
	gen, err := conn.Decode[*nbdb.AddressSet](s.c.Conn, nbdb.AddressSetTable, res[0].Rows)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{}
	if len(gen) == 1 {
		snap.Generation = gen[0].ExternalIDs[genKey]
	}
	pools, err := conn.Decode[*nbdb.AddressSet](s.c.Conn, nbdb.AddressSetTable, res[1].Rows)
	if err != nil {
		return nil, err
	}
	for _, r := range pools {
		if p, ok := poolFromRow(r); ok {
			snap.Pools = append(snap.Pools, p)
		}
	}
	switches, err := conn.Decode[*nbdb.LogicalSwitch](s.c.Conn, nbdb.LogicalSwitchTable, res[2].Rows)
	if err != nil {
		return nil, err
	}
	for _, ls := range switches {
		snap.SwitchSubnets = append(snap.SwitchSubnets, nb.SwitchSubnets(ls)...)
	}
	return snap, nil
}

// CreatePool stores a pool, provided no pool was created since the
// snapshot of the given generation (ovs.ErrStale) and the name is free
// (ovs.ErrConflict). Generation "" (no pool was ever made) creates the
// generation row first.
func (s *Store) CreatePool(ctx context.Context, p Pool, generation string) error {
	if generation == "" {
		if err := s.ensureGeneration(ctx); err != nil {
			return err
		}
		generation = "0"
	}
	n, err := strconv.Atoi(generation)
	if err != nil {
		return usererr.Errorf(nil, "check what changed it",
			"the IPAM generation row %s in the %s holds %q, not a number", genRow, s.c.Name(), generation)
	}
	ids := map[string]string{poolKey: p.Name, spaceKey: p.Space, subnetKey: p.Subnet.String(), nb.ChassisKey: p.Chassis}
	if p.Range.IsValid() {
		ids[rangeKey] = p.Range.String()
	}
	if p.Network != "" {
		ids[networkKey], ids[gatewayKey], ids[refPrefix+p.Chassis] = p.Network, "", ""
	}
	tx, err := s.c.NewTx(ctx)
	if err != nil {
		return err
	}
	tx.Add("generation")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, genRow,
		conn.Includes("external_ids", map[string]string{genKey: generation}))))
	tx.Add("bump")(s.setKey(genRow, genKey, strconv.Itoa(n+1)))
	tx.Add("absent")(conn.Guard(conn.Named(nbdb.AddressSetTable, false, p.Name)))
	tx.Add("create")(s.c.DB().Create(&nbdb.AddressSet{Name: p.Name, ExternalIDs: mark("pool", ids)}))
	if err := tx.Err(); err != nil {
		return err
	}
	_, err = s.c.Transact(ctx, tx.Ops...)
	switch {
	case err == nil:
		return nil
	case tx.FailedIn(err, "generation"):
		return ovs.ErrStale
	case tx.FailedIn(err, "absent"):
		return usererr.Errorf(ovs.ErrConflict, "choose another subnet", "IPAM pool %s is already in the %s", p.Name, s.c.Name())
	}
	return s.c.Failed(err, "create IPAM pool "+p.Name)
}

// Find returns the pool of space and subnet, under its name or its legacy
// name (ovs.ErrNotFound if neither). The cache is asked for both before
// the server is, so that a legacy pool costs no round trip more.
func (s *Store) Find(ctx context.Context, space string, subnet netip.Prefix) (*Pool, error) {
	names := []string{RowName(space, subnet), legacyRowName(space, subnet)}
	if s.c.Ready() {
		for _, name := range names {
			row := &nbdb.AddressSet{Name: name}
			if s.c.DB().Get(ctx, row) == nil {
				return s.poolOf(row)
			}
		}
	}
	for _, name := range names {
		p, err := s.Pool(ctx, name)
		if !errors.Is(err, ovs.ErrNotFound) {
			return p, err
		}
	}
	return nil, s.c.NotFound("IPAM pool " + names[0])
}

// Pool returns the stored pool named name (ovs.ErrNotFound if none).
func (s *Store) Pool(ctx context.Context, name string) (*Pool, error) {
	row, err := conn.Get(ctx, s.c.Conn, &nbdb.AddressSet{Name: name}, "IPAM pool "+name, conn.NameIs(name))
	if err != nil {
		return nil, err
	}
	return s.poolOf(row)
}

func (s *Store) poolOf(row *nbdb.AddressSet) (*Pool, error) {
	p, ok := poolFromRow(row)
	if !ok || row.ExternalIDs[kindKey] != "pool" {
		return nil, s.c.NotFound("IPAM pool " + row.Name)
	}
	return &p, nil
}

// DeletePool deletes a pool and its blocks; an absent pool is success. The
// rows are chosen by the server, so a block another daemon made a moment
// ago goes too.
func (s *Store) DeletePool(ctx context.Context, name string) error {
	_, err := s.c.TransactIdempotent(ctx, conn.DeleteWhere(nbdb.AddressSetTable,
		conn.Includes("external_ids", ovs.Mark(map[string]string{poolKey: name}))))
	if err != nil {
		return s.c.Failed(err, "delete IPAM pool "+name)
	}
	return nil
}
