package conn

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// UnlinkAndDelete deletes row uuid of table and, in the same transaction,
// removes it from the "ports" column of whichever parent row holds it (a
// switch's logical ports, a bridge's ports), so nothing is left dangling.
// The parent is found by the server from the reference itself, not from the
// cache, which may not show a reference made a moment ago. A row already
// gone is success. what names the row for errors; extra operations join
// the transaction.
func (c *Conn) UnlinkAndDelete(ctx context.Context, parent, table, uuid, what string, extra ...ovsdb.Operation) (deleted bool, err error) {
	ref := ovsdb.OvsSet{GoSet: []any{ovsdb.UUID{GoUUID: uuid}}}
	ops := append([]ovsdb.Operation{
		{
			Op: ovsdb.OperationMutate, Table: parent,
			Where:     []ovsdb.Condition{ovsdb.NewCondition("ports", ovsdb.ConditionIncludes, ref)},
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationDelete, ref)},
		},
		{Op: ovsdb.OperationDelete, Table: table, Where: []ovsdb.Condition{UUIDIs(uuid)}},
	}, extra...)
	res, err := c.TransactIdempotent(ctx, ops...)
	if err != nil {
		return false, c.Failed(err, "delete "+what)
	}
	return len(res) > 1 && res[1].Count > 0, nil
}
