package conn

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// Tx composes the operations of one transaction from builders that return
// any number of them (libovsdb's model API gives one per matched row), and
// remembers which step each came from, so a failure can be told apart: a
// guard that tripped is an answer, not an error.
type Tx struct {
	Ops   []ovsdb.Operation
	steps map[string][2]int // step → [first, end) in Ops
	err   error
}

// NewTx starts composing a transaction once the database is connected:
// libovsdb's model API, which the builders use, needs a connection's
// schema before it can build anything.
func (c *Conn) NewTx(ctx context.Context) (*Tx, error) {
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	return &Tx{}, nil
}

// Add names a step and takes what its builder returns, so a transaction
// reads as a list of steps: tx.Add("create")(c.createSwitch(s)). A builder
// error is kept for Err, so the composition is checked once.
func (t *Tx) Add(step string) func([]ovsdb.Operation, error) {
	return func(ops []ovsdb.Operation, err error) {
		if err != nil {
			t.err = errors.Join(t.err, err)
			return
		}
		if t.steps == nil {
			t.steps = map[string][2]int{}
		}
		t.steps[step] = [2]int{len(t.Ops), len(t.Ops) + len(ops)}
		t.Ops = append(t.Ops, ops...)
	}
}

// Guard is a builder of one guard operation, for Add.
func Guard(op ovsdb.Operation) ([]ovsdb.Operation, error) { return []ovsdb.Operation{op}, nil }

// Err is the first builder error, if any.
func (t *Tx) Err() error { return t.err }

// FailedIn reports whether err is the failure of one of step's operations.
func (t *Tx) FailedIn(err error, step string) bool {
	var oe *OpError
	if !errors.As(err, &oe) {
		return false
	}
	r, ok := t.steps[step]
	return ok && oe.Index >= r[0] && oe.Index < r[1]
}

// Count sums the rows step's operations touched (deleted, mutated, updated).
func (t *Tx) Count(res []ovsdb.OperationResult, step string) int {
	r := t.steps[step]
	n := 0
	for i := r[0]; i < r[1] && i < len(res); i++ {
		n += res[i].Count
	}
	return n
}

// UUID is the UUID the server gave the row inserted under namedUUID.
func (t *Tx) UUID(res []ovsdb.OperationResult, namedUUID string) string {
	for i, op := range t.Ops {
		if op.Op == ovsdb.OperationInsert && op.UUIDName == namedUUID && i < len(res) {
			return res[i].UUID.GoUUID
		}
	}
	return ""
}

func modelType(m any) reflect.Type { return reflect.TypeOf(m) }

// IndexClash reports whether err is a commit refused because two rows would
// share a value of the unique index on column: a row already there.
func IndexClash(err error, column string) bool {
	var oe *OpError
	return errors.As(err, &oe) && oe.Kind == "constraint violation" &&
		strings.Contains(oe.Details, "index on column \""+column+"\"")
}

// TimedOut reports whether operation i was a wait whose timeout ran out.
func TimedOut(err error, i int) bool {
	var oe *OpError
	return errors.As(err, &oe) && oe.Index == i && oe.Kind == "timed out"
}
