package nb

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Every chassis ready: the handshake `ovn-nbctl --wait=hv` uses. A client
// bumps NB_Global.nb_cfg; northd hands the number down to SB; each
// ovn-controller reports it once the flows of everything before it are in
// OVS; northd sets NB_Global.hv_cfg to the smallest number reported. So
// hv_cfg reaching the bumped number means every chassis can reach every
// port that existed at the bump: a container on another host reaches a new
// one with its first packet. It costs a round of every chassis, and one
// chassis that is down holds hv_cfg back for everyone, so the wait is
// bounded, and after a wait that ran out the next ones are skipped until
// hv_cfg catches up again, not to slow every docker run down.

// chassisState remembers a wait that ran out.
type chassisState struct {
	mu      sync.Mutex
	stuckAt int // the number hv_cfg had not reached in time; 0: none
}

// ErrChassisBehind means some chassis did not confirm in time, or still has
// not since an earlier wait ran out (then the error is also
// ErrChassisSkipped).
var ErrChassisBehind = fmt.Errorf("not every chassis confirmed in time: %w", ovs.ErrNotInstalled)

// ErrChassisSkipped: no wait was made, an earlier one ran out and hv_cfg
// has not caught up since. Callers say the first, not every one.
var ErrChassisSkipped = fmt.Errorf("skipped until they catch up: %w", ErrChassisBehind)

// WaitChassis returns once every chassis has installed the flows of what
// NB holds now, or with ErrChassisBehind after timeout.
func (c *Client) WaitChassis(ctx context.Context, timeout time.Duration) error {
	hv, _, err := c.cfgs(ctx, false)
	if err != nil {
		return err
	}
	c.chassis.mu.Lock()
	stuck := c.chassis.stuckAt
	if stuck != 0 && hv >= stuck {
		c.chassis.stuckAt, stuck = 0, 0
	}
	c.chassis.mu.Unlock()
	if stuck != 0 {
		return ErrChassisSkipped
	}
	hv, target, err := c.cfgs(ctx, true)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for hv < target {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		if hv, err = c.nextHv(ctx, hv, left); err != nil {
			return err
		}
	}
	if hv < target {
		c.chassis.mu.Lock()
		c.chassis.stuckAt = target
		c.chassis.mu.Unlock()
		return ErrChassisBehind
	}
	return nil
}

// cfgs reads hv_cfg and nb_cfg, bumping nb_cfg first when bump is set, in
// one transaction.
func (c *Client) cfgs(ctx context.Context, bump bool) (hv, nb int, err error) {
	tx, err := c.NewTx(ctx)
	if err != nil {
		return 0, 0, err
	}
	if bump {
		g := &nbdb.NBGlobal{}
		tx.Add("bump")(c.DB().WhereCache(func(*nbdb.NBGlobal) bool { return true }).Mutate(g,
			model.Mutation{Field: &g.NbCfg, Mutator: ovsdb.MutateOperationAdd, Value: 1}))
	}
	tx.Add("read")(conn.Guard(ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.NBGlobalTable,
		Where: []ovsdb.Condition{}, Columns: []string{"nb_cfg", "hv_cfg"}}))
	if err := tx.Err(); err != nil {
		return 0, 0, err
	}
	res, err := c.TransactIdempotent(ctx, tx.Ops...)
	if err != nil {
		return 0, 0, c.Failed(err, "read NB_Global's nb_cfg")
	}
	rows, err := conn.Decode[*nbdb.NBGlobal](c.Conn, nbdb.NBGlobalTable, res[len(res)-1].Rows)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	return rows[0].HvCfg, rows[0].NbCfg, nil
}

// nextHv waits, held by the server, until hv_cfg is no longer hv, for at
// most left, and returns what it is then.
func (c *Client) nextHv(ctx context.Context, hv int, left time.Duration) (int, error) {
	wait := conn.Wait(nbdb.NBGlobalTable, ovsdb.WaitConditionNotEqual, []ovsdb.Condition{conn.Every()}, ovsdb.Row{"hv_cfg": hv})
	ms := int(left.Milliseconds())
	wait.Timeout = &ms
	read := ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.NBGlobalTable, Where: []ovsdb.Condition{},
		Columns: []string{"hv_cfg"}}
	wctx, cancel := context.WithTimeout(ctx, left+2*time.Second)
	defer cancel()
	res, err := c.Transact(wctx, wait, read)
	if conn.TimedOut(err, 0) {
		return hv, nil // the caller sees hv unchanged and its deadline passed
	}
	if err != nil {
		return hv, c.Failed(err, "wait for NB_Global's hv_cfg")
	}
	rows, err := conn.Decode[*nbdb.NBGlobal](c.Conn, nbdb.NBGlobalTable, res[1].Rows)
	if err != nil || len(rows) == 0 {
		return hv, err
	}
	return rows[0].HvCfg, nil
}
