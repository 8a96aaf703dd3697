package conn

import (
	"context"
	"errors"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// Select reads rows straight from the server, for what the cache does not
// hold (other software's rows) or may not hold yet.
func Select[T model.Model](ctx context.Context, c *Conn, table string, where ...ovsdb.Condition) ([]T, error) {
	if where == nil {
		where = []ovsdb.Condition{}
	}
	res, err := c.TransactIdempotent(ctx, ovsdb.Operation{Op: ovsdb.OperationSelect, Table: table, Where: where})
	if err != nil {
		return nil, c.Failed(err, "read the "+table+" table")
	}
	return Decode[T](c, table, res[0].Rows)
}

// Decode turns the rows of a select result into models.
func Decode[T model.Model](c *Conn, table string, rows []ovsdb.Row) ([]T, error) {
	cache := c.client.Cache()
	out := make([]T, 0, len(rows))
	for i := range rows {
		m, err := cache.DatabaseModel().NewModel(table)
		if err != nil {
			return nil, err
		}
		info, err := cache.DatabaseModel().NewModelInfo(m)
		if err != nil {
			return nil, err
		}
		if err := cache.Mapper().GetRowData(&rows[i], info); err != nil {
			return nil, usererr.Errorf(nil, "check that its schema is at least the one ovn-docker was built for",
				"the %s at %s sent a %s row ovn-docker cannot read (%w)", c.name, c.Endpoints(), table, err)
		}
		// GetRowData skips the row's UUID, which callers need to act on it.
		if u, ok := rows[i]["_uuid"].(ovsdb.UUID); ok {
			if err := info.SetField("_uuid", u.GoUUID); err != nil {
				return nil, err
			}
		}
		out = append(out, m.(T))
	}
	return out, nil
}

// Get reads the row m describes by one of its indexes (a schema index such
// as a name, or a client index set up with the monitors) from the cache,
// which costs the same however many rows the table has. When the cache has
// not seen the row yet (our own write a moment ago may not be in it), the
// rows matching where are read from the server; what names the row in
// errors. ovs.ErrNotFound when neither has it.
func Get[T model.Model](ctx context.Context, c *Conn, m T, what string, where ...ovsdb.Condition) (T, error) {
	if err := c.WaitReady(ctx); err != nil {
		return m, err
	}
	err := c.client.Get(ctx, m)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, client.ErrNotFound) {
		return m, c.ReadFailed(ctx, err, what)
	}
	table := c.client.Cache().DatabaseModel().FindTable(modelType(m))
	rows, err := Select[T](ctx, c, table, where...)
	if err != nil {
		return m, err
	}
	if len(rows) == 0 {
		return m, c.NotFound(what)
	}
	return rows[0], nil
}

// Cached lists the cached rows pred accepts. The cache holds only what the
// monitors follow (our own rows), so this costs what we own, not what the
// table holds.
func Cached[T model.Model](ctx context.Context, c *Conn, what string, pred func(T) bool) ([]T, error) {
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	var found []T
	if err := c.client.WhereCache(pred).List(ctx, &found); err != nil {
		return nil, c.ReadFailed(ctx, err, what)
	}
	return found, nil
}

// Shallow returns every cached row of table without copying them: they are
// the cache's own and must only be read (libovsdb copies a row before it
// changes it, so a reader never sees one change under it). Scanning 10 000
// cached ports this way costs no copies; Cached would deep-copy each.
func Shallow[T model.Model](ctx context.Context, c *Conn, table string) ([]T, error) {
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	rc := c.client.Cache().Table(table)
	if rc == nil {
		return nil, nil
	}
	rows := rc.RowsShallow()
	out := make([]T, 0, len(rows))
	for _, m := range rows {
		out = append(out, m.(T))
	}
	return out, nil
}
