package nb

import (
	"context"
	"errors"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// NestedChassis is what a daemon nested in a VM on logical port parent
// writes where a chassis daemon writes its system-id: the creator of
// networks, pools and DNS rows, and the home of its ports.
func NestedChassis(parent string) string { return "nested:" + parent }

// Home is the chassis, or the nested VM, whose daemon keeps p.
func (p Port) Home() string {
	if p.Parent != "" {
		return NestedChassis(p.Parent)
	}
	return p.Chassis
}

// ErrNoTag: northd has not given a nested port its VLAN tag in time.
var ErrNoTag = errors.New("has no VLAN tag")

// WaitTag returns the VLAN tag northd gave nested port name (tag_request
// 0): northd writes it on its pass after the one that binds the port in
// the Southbound database, so a Join right after CreateEndpoint may come
// first. The OVSDB server holds the wait, at most timeout, on its own
// budget (the call's may be shorter); the tag is read in the same
// transaction, since the cache may get the update after the wait's reply.
func (c *Client) WaitTag(ctx context.Context, name string, timeout time.Duration) (int, error) {
	p, err := c.Port(ctx, name)
	if err != nil || p.Tag != 0 {
		return p.tagOrZero(), err
	}
	byUUID := []ovsdb.Condition{conn.UUIDIs(p.UUID)}
	wait := conn.Wait(nbdb.LogicalSwitchPortTable, ovsdb.WaitConditionNotEqual, byUUID, ovsdb.Row{"tag": ovsdb.OvsSet{GoSet: []any{}}})
	ms := int(timeout.Milliseconds())
	wait.Timeout = &ms
	read := ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.LogicalSwitchPortTable, Where: byUUID, Columns: []string{"_uuid", "name", "tag"}}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+2*time.Second)
	defer cancel()
	res, err := c.Transact(wctx, wait, read)
	switch {
	case conn.FailedAt(err, 0):
		return 0, usererr.Errorf(ErrNoTag, "check that ovn-northd runs, and try again",
			"logical port %s %s from ovn-northd after %s", name, ErrNoTag.Error(), timeout)
	case err != nil:
		return 0, c.Failed(err, "wait for the VLAN tag of logical port "+name)
	}
	rows, err := conn.Decode[*nbdb.LogicalSwitchPort](c.Conn, nbdb.LogicalSwitchPortTable, res[1].Rows)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 || rows[0].Tag == nil {
		return 0, c.NotFound("logical port " + name)
	}
	return *rows[0].Tag, nil
}

func (p *Port) tagOrZero() int {
	if p == nil {
		return 0
	}
	return p.Tag
}
