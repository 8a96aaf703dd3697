package local

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/vswitchd"
)

// bfdOn selects the tunnels ovn-controller runs BFD on: those to the
// gateway chassis of routers with more than one (and between those).
func bfdOn() ovsdb.Condition { return conn.Includes("bfd", map[string]string{"enable": "true"}) }

func bfdForwarding() ovsdb.Condition {
	return conn.Includes("bfd_status", map[string]string{"forwarding": "true"})
}

// BFDDown lists the tunnels that run BFD and do not forward yet: until
// they do, ovn-controller sends nothing to the gateway chassis behind
// them, and what a container sends out is lost.
func (c *Client) BFDDown(ctx context.Context) ([]string, error) {
	rows, err := conn.Select[*vswitchd.Interface](ctx, c.Conn, vswitchd.InterfaceTable, bfdOn())
	if err != nil {
		return nil, err
	}
	var down []string
	for _, r := range rows {
		if r.BFDStatus["forwarding"] != "true" {
			down = append(down, r.Name)
		}
	}
	slices.Sort(down)
	return down, nil
}

// WaitBFD waits, up to timeout, until BFD forwards on every tunnel of
// names; the server holds the wait.
func (c *Client) WaitBFD(ctx context.Context, names []string, timeout time.Duration) error {
	ms := int(timeout.Milliseconds())
	ops := make([]ovsdb.Operation, 0, len(names))
	for _, n := range names {
		op := conn.Wait(vswitchd.InterfaceTable, ovsdb.WaitConditionEqual, []ovsdb.Condition{conn.NameIs(n), bfdForwarding()},
			ovsdb.Row{"name": n})
		op.Timeout = &ms
		ops = append(ops, op)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	_, err := c.Transact(ctx, ops...)
	for i := range ops {
		if conn.FailedAt(err, i) {
			return fmt.Errorf("BFD on tunnel %s: %w after %s", names[i], ovs.ErrNotInstalled, timeout)
		}
	}
	return c.Failed(err, "wait until BFD forwards to the gateway chassis")
}
