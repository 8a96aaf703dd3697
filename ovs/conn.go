package ovs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/cenkalti/rpc2"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// ErrUnavailable means the database could not be reached in time.
var ErrUnavailable = errors.New("database unavailable")

// ConnConfig says where a database is and how long calls may wait for it.
type ConnConfig struct {
	Endpoints []string    // OVSDB remotes, e.g. unix:/var/run/ovn/ovnnb_db.sock
	TLS       *tls.Config // for ssl: remotes
	// LeaderOnly makes a clustered database's followers count as down, so
	// writes and reads go to the Raft leader.
	LeaderOnly bool
	Log        logrus.FieldLogger
}

// conn is one OVSDB client that connects in the background: the daemon must
// answer Docker before the database is reachable, and calls made meanwhile
// fail with a clear error instead of hanging.
type conn struct {
	name    string // how users know this database, used in errors
	flag    string // the daemon's flag that names it, for the advice in errors
	cfg     ConnConfig
	client  client.Client
	monitor []client.MonitorOption
	ready   chan struct{} // closed once connected and monitoring

	mu      sync.Mutex
	lastErr error
}

func newConn(name, flag string, dbModel model.ClientDBModel, cfg ConnConfig, monitor ...client.MonitorOption) (*conn, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("no endpoints given for the %s", name)
	}
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	opts := []client.Option{
		client.WithLeaderOnly(cfg.LeaderOnly),
		// Reconnection never gives up: libovsdb panics if its backoff stops.
		// Its own inactivity check is not used: in v0.8.1 it can panic with a
		// send on a closed channel when a disconnect races a transaction
		// (fixed upstream by libovsdb#488); probe() does the same job.
		client.WithReconnect(5*time.Second, foreverBackoff()),
	}
	if cfg.TLS != nil {
		opts = append(opts, client.WithTLSConfig(cfg.TLS))
	}
	for _, ep := range cfg.Endpoints {
		opts = append(opts, client.WithEndpoint(ep))
	}
	c, err := client.NewOVSDBClient(dbModel, opts...)
	if err != nil {
		return nil, fmt.Errorf("configure client for the %s: %w", name, err)
	}
	return &conn{name: name, flag: flag, cfg: cfg, client: c, monitor: monitor, ready: make(chan struct{})}, nil
}

func foreverBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	b.MaxElapsedTime = 0
	return b
}

// run connects, retrying until ctx ends; once connected, libovsdb itself
// reconnects and restores the monitors after any later disconnection.
func (c *conn) run(ctx context.Context) {
	b := foreverBackoff()
	for {
		err := c.connectOnce(ctx)
		if err == nil {
			c.cfg.Log.WithField("endpoint", c.client.CurrentEndpoint()).Infof("connected to the %s", c.name)
			close(c.ready)
			c.probe(ctx)
			return
		}
		c.setErr(err)
		c.cfg.Log.WithError(err).Debugf("cannot reach the %s yet", c.name)
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.NextBackOff()):
		}
	}
}

// Probe timing: a server that answers no echo for probeTimeout is treated
// as gone, so libovsdb reconnects (to another cluster member, if any).
const (
	probeInterval = 5 * time.Second
	probeTimeout  = 5 * time.Second
)

// probe sends an echo every probeInterval and drops a connection whose
// server does not answer, which a frozen or half-dead server never does by
// itself closing the socket.
func (c *conn) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.client.Connected() {
			continue
		}
		ectx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := c.client.Echo(ectx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.setErr(err)
			c.cfg.Log.WithError(err).Warnf("the %s does not answer; reconnecting", c.name)
			c.client.Disconnect()
		}
	}
}

func (c *conn) connectOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.client.Connect(cctx); err != nil {
		return err
	}
	if _, err := c.client.Monitor(cctx, c.client.NewMonitor(c.monitor...)); err != nil {
		c.client.Close()
		return fmt.Errorf("monitor: %w", err)
	}
	return nil
}

func (c *conn) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// waitReady blocks until the first connection is made or ctx ends.
func (c *conn) waitReady(ctx context.Context) error {
	if c.isReady() {
		return nil
	}
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return c.unavailable(ctx.Err())
	}
}

func (c *conn) isReady() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// transact runs ops as one transaction and returns its per-operation results.
// A failed operation is reported as an *OpError so callers can tell which
// guard tripped; callers turn what they do not expect into a sentence with
// failed.
func (c *conn) transact(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	res, err := c.client.Transact(ctx, ops...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.unavailable(ctx.Err())
		}
		if errors.Is(err, client.ErrNotConnected) {
			return nil, c.unavailable(err)
		}
		if connLost(err) {
			return nil, usererr.Errorf(ErrUnavailable, "try again",
				"lost the connection to the %s at %s during the call (%w)", c.name, c.endpoints(), err)
		}
		return nil, err
	}
	if err := checkResults(res, len(ops)); err != nil {
		return res, err
	}
	return res, nil
}

// connLost reports errors of a connection that broke under a call, after
// which the transaction may or may not have been applied.
func connLost(err error) bool {
	var netErr *net.OpError
	return errors.Is(err, client.ErrNotConnected) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, rpc2.ErrShutdown) || errors.As(err, &netErr)
}

// transactIdempotent is transact for transactions that are safe to apply
// twice (their guards turn a repeat into a no-op or a known answer): when
// the connection breaks under one, for example as a Raft leader dies, it
// is sent again once libovsdb has reconnected, within ctx's deadline.
func (c *conn) transactIdempotent(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.transact(ctx, ops...)
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil || attempt == 5 {
			return res, err
		}
		c.cfg.Log.WithError(err).Debugf("retrying a transaction on the %s", c.name)
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

func checkResults(res []ovsdb.OperationResult, nops int) error {
	for i, r := range res {
		if r.Error == "" {
			continue
		}
		if i >= nops {
			i = -1
		}
		return &OpError{Index: i, Kind: r.Error, Details: r.Details}
	}
	if len(res) < nops {
		return fmt.Errorf("%d operations sent but %d results received", nops, len(res))
	}
	return nil
}

// failedAt reports whether err is a failure of operation i.
func failedAt(err error, i int) bool {
	var oe *OpError
	return errors.As(err, &oe) && oe.Index == i
}

// selectRows reads rows straight from the server, for when the cache may lag.
func selectRows[T model.Model](ctx context.Context, c *conn, table string, where ...ovsdb.Condition) ([]T, error) {
	if where == nil {
		where = []ovsdb.Condition{}
	}
	res, err := c.transactIdempotent(ctx, ovsdb.Operation{Op: ovsdb.OperationSelect, Table: table, Where: where})
	if err != nil {
		return nil, c.failed(err, "read the "+table+" table")
	}
	return decodeRows[T](c, table, res[0].Rows)
}

// decodeRows turns the rows of a select result into models.
func decodeRows[T model.Model](c *conn, table string, rows []ovsdb.Row) ([]T, error) {
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
				"the %s at %s sent a %s row ovn-docker cannot read (%w)", c.name, c.endpoints(), table, err)
		}
		out = append(out, m.(T))
	}
	return out, nil
}

// lookup returns the rows matching pred from the monitor cache or, when the
// cache has none (it may lag a write made a moment ago), the rows matching
// where from the server.
func lookup[T model.Model](ctx context.Context, c *conn, table string, pred func(T) bool, where ...ovsdb.Condition) ([]T, error) {
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	var found []T
	if err := c.client.WhereCache(pred).List(ctx, &found); err != nil {
		return nil, c.readFailed(ctx, err, "the "+table+" table")
	}
	if len(found) > 0 {
		return found, nil
	}
	return selectRows[T](ctx, c, table, where...)
}

// getByName reads the row named name through the cache's index on name
// (m must be a model with only Name set), falling back to the server when
// the cache has not seen the row yet.
func getByName[T model.Model](ctx context.Context, c *conn, table, name string, m T) (T, error) {
	if err := c.waitReady(ctx); err != nil {
		return m, err
	}
	err := c.client.Get(ctx, m)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, client.ErrNotFound) {
		return m, c.readFailed(ctx, err, rowKind(table)+" "+name)
	}
	rows, err := selectRows[T](ctx, c, table, nameIs(name))
	if err != nil {
		return m, err
	}
	if len(rows) == 0 {
		return m, c.notFound(rowKind(table) + " " + name)
	}
	return rows[0], nil
}
