package store

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// A pool shared by the hosts of an OVN network (--ipam-opt ovn.network)
// carries docker:ipam-network=NAME, a key docker:ipam-ref:<chassis> per
// host using it, and docker:ipam-gateway: empty until the first host's
// gateway request claims one, which every later host is then given. The
// pool goes with the last reference, in a transaction guarded by the exact
// external_ids read, as shared switches do.
const (
	networkKey = "docker:ipam-network"
	gatewayKey = "docker:ipam-gateway"
	refPrefix  = "docker:ipam-ref:"
	refTries   = 8
)

func poolRefs(ids map[string]string) []string {
	var refs []string
	for _, k := range slices.Sorted(maps.Keys(ids)) {
		if chassis, ok := strings.CutPrefix(k, refPrefix); ok {
			refs = append(refs, chassis)
		}
	}
	return refs
}

// AddRef adds chassis to the users of shared pool name; ovs.ErrNotFound
// when the pool went meanwhile (the caller makes it again).
func (s *Store) AddRef(ctx context.Context, name, network, chassis string) error {
	tx, err := s.c.NewTx(ctx)
	if err != nil {
		return err
	}
	tx.Add("pool")(conn.Guard(conn.Named(nbdb.AddressSetTable, true, name,
		conn.Includes("external_ids", ovs.Mark(map[string]string{networkKey: network})))))
	as := &nbdb.AddressSet{Name: name}
	tx.Add("ref")(s.c.DB().Where(as).Mutate(as, model.Mutation{Field: &as.ExternalIDs,
		Mutator: ovsdb.MutateOperationInsert, Value: map[string]string{refPrefix + chassis: ""}}))
	if err := tx.Err(); err != nil {
		return err
	}
	_, err = s.c.TransactIdempotent(ctx, tx.Ops...)
	switch {
	case tx.FailedIn(err, "pool"):
		return s.c.NotFound("IPAM pool " + name)
	case err != nil:
		return s.c.Failed(err, "add this host to IPAM pool "+name)
	}
	return nil
}

// DropRef removes chassis from the users of shared pool name, and the pool
// with its claims when it was the last. It reports whether the pool went.
func (s *Store) DropRef(ctx context.Context, name, chassis string) (bool, error) {
	for try := 0; try < refTries; try++ {
		rows, err := conn.Select[*nbdb.AddressSet](ctx, s.c.Conn, nbdb.AddressSetTable, conn.NameIs(name))
		if err != nil || len(rows) == 0 {
			return false, err
		}
		have := rows[0]
		if _, ok := have.ExternalIDs[refPrefix+chassis]; !ok {
			return false, nil
		}
		last := len(poolRefs(have.ExternalIDs)) == 1
		tx, err := s.c.NewTx(ctx)
		if err != nil {
			return false, err
		}
		tx.Add("same")(conn.Guard(conn.Wait(nbdb.AddressSetTable, ovsdb.WaitConditionEqual,
			[]ovsdb.Condition{conn.UUIDIs(have.UUID)}, ovsdb.Row{"external_ids": conn.StrMap(have.ExternalIDs)})))
		if last {
			tx.Add("delete")(conn.Guard(conn.DeleteWhere(nbdb.AddressSetTable,
				conn.Includes("external_ids", ovs.Mark(map[string]string{poolKey: name})))))
		} else {
			as := &nbdb.AddressSet{UUID: have.UUID}
			tx.Add("ref")(s.c.DB().Where(as).Mutate(as, model.Mutation{Field: &as.ExternalIDs,
				Mutator: ovsdb.MutateOperationDelete, Value: []string{refPrefix + chassis}}))
		}
		if err := tx.Err(); err != nil {
			return false, err
		}
		_, err = s.c.TransactIdempotent(ctx, tx.Ops...)
		if tx.FailedIn(err, "same") {
			continue
		}
		if err != nil {
			return false, s.c.Failed(err, "remove this host from IPAM pool "+name)
		}
		return last, nil
	}
	return false, usererr.Errorf(nil, "try again", "IPAM pool %s kept changing while this host left it", name)
}
