// Package conn is one OVSDB connection as the daemon needs it: it connects
// in the background (the daemon must answer Docker before any database
// is reachable), reconnects for ever, prefers the Raft leader, speaks TLS,
// drops a server that stops answering echoes, bounds every call by its
// context, re-sends transactions that are safe to apply twice when the
// connection breaks under them, and words every failure as one sentence
// for the user.
package conn

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
	"github.com/ovn-docker/ovn-docker/ovs"
)

// Config says where a database is and how calls reach it.
type Config struct {
	Endpoints []string    // OVSDB remotes, e.g. unix:/var/run/ovn/ovnnb_db.sock
	TLS       *tls.Config // for ssl: remotes
	// LeaderOnly makes a clustered database's followers count as down, so
	// writes and reads go to the Raft leader.
	LeaderOnly bool
	Log        logrus.FieldLogger
}

// Conn is one OVSDB client that connects in the background; calls made
// before it is connected wait for it up to their own deadline.
type Conn struct {
	name    string // how users know this database, used in errors
	flag    string // the daemon's flag that names it, for the advice in errors
	cfg     Config
	client  client.Client
	monitor []client.MonitorOption
	ready   chan struct{} // closed once connected and monitoring

	mu      sync.Mutex
	lastErr error
}

// New prepares a client of the database that users know as name (e.g.
// "OVN northbound database") and the daemon's flag names; Run connects it.
// monitor says which tables, columns and rows the cache follows.
func New(name, flag string, dbModel model.ClientDBModel, cfg Config, monitor ...client.MonitorOption) (*Conn, error) {
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
	return &Conn{name: name, flag: flag, cfg: cfg, client: c, monitor: monitor, ready: make(chan struct{})}, nil
}

func foreverBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	b.MaxElapsedTime = 0
	return b
}

// Run connects in the background until ctx ends.
func (c *Conn) Run(ctx context.Context) { go c.run(ctx) }

// Close drops the connection.
func (c *Conn) Close() { c.client.Close() }

// DB is the libovsdb client: its model API builds operations, and its
// cache holds what the monitors follow.
func (c *Conn) DB() client.Client { return c.client }

// Name is how users know the database.
func (c *Conn) Name() string { return c.name }

// run connects, retrying until ctx ends; once connected, libovsdb itself
// reconnects and restores the monitors after any later disconnection.
func (c *Conn) run(ctx context.Context) {
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
func (c *Conn) probe(ctx context.Context) {
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

func (c *Conn) connectOnce(ctx context.Context) error {
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

func (c *Conn) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// WaitReady blocks until the first connection is made or ctx ends.
func (c *Conn) WaitReady(ctx context.Context) error {
	if c.Ready() {
		return nil
	}
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return c.Unavailable(ctx.Err())
	}
}

// Ready reports whether the first connection has been made.
func (c *Conn) Ready() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// Transact runs ops as one transaction and returns its per-operation
// results. A failed operation is reported as an *OpError so callers can tell
// which guard tripped; callers turn what they do not expect into a sentence
// with Failed.
func (c *Conn) Transact(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	res, err := c.client.Transact(ctx, ops...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.Unavailable(ctx.Err())
		}
		if errors.Is(err, client.ErrNotConnected) {
			return nil, c.Unavailable(err)
		}
		if connLost(err) {
			return nil, usererr.Errorf(ovs.ErrUnavailable, "try again",
				"lost the connection to the %s at %s during the call (%w)", c.name, c.Endpoints(), err)
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

// TransactIdempotent is Transact for transactions that are safe to apply
// twice (their guards turn a repeat into a no-op or a known answer): when
// the connection breaks under one, for example as a Raft leader dies, it
// is sent again once libovsdb has reconnected, within ctx's deadline.
func (c *Conn) TransactIdempotent(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := c.Transact(ctx, ops...)
		if err == nil || !errors.Is(err, ovs.ErrUnavailable) || ctx.Err() != nil || attempt == 5 {
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

// FailedAt reports whether err is a failure of operation i.
func FailedAt(err error, i int) bool {
	var oe *OpError
	return errors.As(err, &oe) && oe.Index == i
}
