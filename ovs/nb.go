package ovs

import (
	"context"
	"errors"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Errors callers may test for with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists and belongs to something else")
)

// NB is the driver's handle on the OVN Northbound database.
type NB struct{ *conn }

// nbModel lists only the tables this driver uses, so a newer NB schema with
// more tables still validates against it.
func nbModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel("OVN_Northbound", map[string]model.Model{
		nbdb.LogicalSwitchTable:     &nbdb.LogicalSwitch{},
		nbdb.LogicalSwitchPortTable: &nbdb.LogicalSwitchPort{},
		nbdb.AddressSetTable:        &nbdb.AddressSet{},
	})
}

// NewNB prepares a Northbound client; call Run to connect it.
func NewNB(cfg ConnConfig) (*NB, error) {
	m, err := nbModel()
	if err != nil {
		return nil, err
	}
	ls, lsp, as := &nbdb.LogicalSwitch{}, &nbdb.LogicalSwitchPort{}, &nbdb.AddressSet{}
	c, err := newConn("OVN northbound database", "--nb", m, cfg,
		client.WithTable(ls, &ls.Name, &ls.Ports, &ls.ExternalIDs),
		client.WithTable(lsp, &lsp.Name, &lsp.Addresses, &lsp.PortSecurity,
			&lsp.Options, &lsp.ExternalIDs, &lsp.Up),
		// Only our own address sets: other users' (ovn-kubernetes') may be huge.
		client.WithConditionalTable(as, []model.Condition{{Field: &as.ExternalIDs,
			Function: ovsdb.ConditionIncludes, Value: map[string]string{OwnerKey: OwnerValue}}},
			&as.Name, &as.Addresses, &as.ExternalIDs),
	)
	if err != nil {
		return nil, err
	}
	return &NB{c}, nil
}

// Run connects in the background until ctx ends; calls made before the
// first connection wait for it up to their own deadline.
func (nb *NB) Run(ctx context.Context) { go nb.run(ctx) }

// Close drops the connection.
func (nb *NB) Close() { nb.client.Close() }

// ownedBy is the condition that selects rows this driver made for a network.
func ownedBy(networkID string) ovsdb.Condition {
	return ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes,
		ovsdb.OvsMap{GoMap: map[any]any{OwnerKey: OwnerValue, NetworkIDKey: networkID}})
}

func nameIs(name string) ovsdb.Condition {
	return ovsdb.NewCondition("name", ovsdb.ConditionEqual, name)
}

func uuidIs(uuid string) ovsdb.Condition {
	return ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: uuid})
}

// guard builds a "wait" operation that makes the server fail the whole
// transaction at once unless exactly one row named name (and matching extra)
// exists (present=true), or none does (present=false). This is what keeps two
// daemons from both creating the same row: the server decides, not a cache.
// (libovsdb drops an empty "rows" list when encoding, so the guard compares
// against the one row it expects rather than against no rows.)
func guard(table string, present bool, name string, extra ...ovsdb.Condition) ovsdb.Operation {
	zero := 0
	until := ovsdb.WaitConditionEqual
	if !present {
		until = ovsdb.WaitConditionNotEqual
	}
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: table, Timeout: &zero, Until: string(until),
		Where:   append([]ovsdb.Condition{nameIs(name)}, extra...),
		Columns: []string{"name"}, Rows: []ovsdb.Row{{"name": name}},
	}
}

func insertOp(table, uuidName string, row ovsdb.Row) ovsdb.Operation {
	return ovsdb.Operation{Op: ovsdb.OperationInsert, Table: table, UUIDName: uuidName, Row: row}
}

func refSet(uuids ...ovsdb.UUID) ovsdb.OvsSet {
	s := ovsdb.OvsSet{}
	for _, u := range uuids {
		s.GoSet = append(s.GoSet, u)
	}
	return s
}

func strMap(m map[string]string) ovsdb.OvsMap {
	om := ovsdb.OvsMap{GoMap: map[any]any{}}
	for k, v := range m {
		om.GoMap[k] = v
	}
	return om
}

func strSet(ss []string) ovsdb.OvsSet {
	s := ovsdb.OvsSet{}
	for _, v := range ss {
		s.GoSet = append(s.GoSet, v)
	}
	return s
}

func count(res []ovsdb.OperationResult, i int) int {
	if i < len(res) {
		return res[i].Count
	}
	return 0
}

// short is the prefix Docker shows of an ID (docker network ls).
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// unlinkAndDelete deletes row uuid of table and, in the same transaction,
// removes it from the "ports" column of whichever parent row holds it
// (a switch's logical ports, a bridge's ports), so nothing is left
// dangling. A row already gone is success. what names the row for errors.
func unlinkAndDelete(ctx context.Context, c *conn, parent, table, uuid, what string) (deleted bool, err error) {
	ref := refSet(ovsdb.UUID{GoUUID: uuid})
	res, err := c.transactIdempotent(ctx,
		ovsdb.Operation{
			Op: ovsdb.OperationMutate, Table: parent,
			Where:     []ovsdb.Condition{ovsdb.NewCondition("ports", ovsdb.ConditionIncludes, ref)},
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationDelete, ref)},
		},
		ovsdb.Operation{Op: ovsdb.OperationDelete, Table: table, Where: []ovsdb.Condition{uuidIs(uuid)}},
	)
	if err != nil {
		return false, c.failed(err, "delete "+what)
	}
	return count(res, 1) > 0, nil
}
