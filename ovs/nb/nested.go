package nb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// ErrNoTag: northd has not given a nested port its VLAN tag in time.
var ErrNoTag = errors.New("has no VLAN tag")

// WaitTag returns the VLAN tag northd gave nested port name (tag_request
// 0): northd writes it on its pass after the one that binds the port in
// the Southbound database, so a Join right after CreateEndpoint may come
// first. The OVSDB server holds the wait, at most timeout.
func (c *Client) WaitTag(ctx context.Context, name string, timeout time.Duration) (int, error) {
	p, err := c.Port(ctx, name)
	if err != nil || p.Tag != 0 {
		return p.tagOrZero(), err
	}
	op := conn.Wait(nbdb.LogicalSwitchPortTable, ovsdb.WaitConditionNotEqual, []ovsdb.Condition{conn.NameIs(name)},
		ovsdb.Row{"tag": ovsdb.OvsSet{GoSet: []any{}}})
	op.Columns = []string{"tag"}
	ms := int(timeout.Milliseconds())
	op.Timeout = &ms
	wctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	_, err = c.Transact(wctx, op)
	switch {
	case conn.FailedAt(err, 0):
		return 0, usererr.Errorf(ErrNoTag, "check that ovn-northd runs, and try again",
			"logical port %s %s from ovn-northd after %s", name, ErrNoTag.Error(), timeout)
	case err != nil:
		return 0, c.Failed(err, "wait for the VLAN tag of logical port "+name)
	}
	if p, err = c.Port(ctx, name); err != nil {
		return 0, err
	}
	if p.Tag == 0 {
		return 0, fmt.Errorf("logical port %s: %w", name, ovs.ErrNotFound)
	}
	return p.Tag, nil
}

func (p *Port) tagOrZero() int {
	if p == nil {
		return 0
	}
	return p.Tag
}
