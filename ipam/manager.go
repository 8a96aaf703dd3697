package ipam

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/internal/grace"
	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// Store is where pools and claims live; ovs.NB implements it on the OVN
// Northbound database.
type Store interface {
	Snapshot(ctx context.Context) (*store.Snapshot, error)
	CreatePool(ctx context.Context, p store.Pool, generation string) error
	Find(ctx context.Context, space string, subnet netip.Prefix) (*store.Pool, error)
	DeletePool(ctx context.Context, name string) error
	Used(ctx context.Context, pool, block string) []netip.Addr
	Claim(ctx context.Context, pool, block string, a netip.Addr, cursor bool) error
	Claimed(ctx context.Context) (map[string][]netip.Addr, error)
	Release(ctx context.Context, pool, block string, a netip.Addr) error
	AddRef(ctx context.Context, name, network, chassis string) error
	DropRef(ctx context.Context, name, chassis string) (bool, error)
	ClaimGateway(ctx context.Context, pool, block string, a netip.Addr) (netip.Addr, error)
}

// Address spaces: both are kept in the one Northbound database, so pools
// of either are shared by every host of the OVN deployment.
const (
	LocalSpace  = "ovnlocal"
	GlobalSpace = "ovnglobal"
)

// DefaultPools is where pools come from when a network names no subnet.
type DefaultPools struct {
	Base netip.Prefix
	Size int
}

// Config holds the manager's settings.
type Config struct {
	IPv4Default DefaultPools
	IPv6Default DefaultPools
	// OrphanGrace: how long a claim must look orphaned before
	// ReleaseOrphans releases it.
	OrphanGrace time.Duration
	Log         logrus.FieldLogger
	// SystemID names this host's chassis, recorded on the pools it creates
	// so that only its own reconciliation ever removes them.
	SystemID func(context.Context) (string, error)
	// Now is the clock grace periods are judged by; nil means time.Now.
	Now func() time.Time
	// Swarm: the driver runs with --scope swarm, and a node's request for
	// the subnet of a swarm pool is answered with its view (swarm.go).
	Swarm bool
}

// Defaults: IPv4 pools are /24s of 10.128.0.0/9; IPv6 pools /64s of a
// fixed ULA /40 (operators with several OVN deployments should pick their
// own random ULA, as RFC 4193 asks).
var (
	DefaultIPv4Pools = DefaultPools{Base: netip.MustParsePrefix("10.128.0.0/9"), Size: 24}
	DefaultIPv6Pools = DefaultPools{Base: netip.MustParsePrefix("fd6f:766e:6400::/40"), Size: 64}
)

// Manager serves Docker's IpamDriver calls.
type Manager struct {
	db  Store
	cfg Config

	createMu  sync.Mutex // serialises pool creation in this daemon
	orphans   *grace.Tracker
	forgotten *grace.Tracker // pools no network of this host's engine uses

	mu      sync.Mutex
	pools   map[string]*sync.Mutex // serialises dynamic claims of one pool in this daemon
	cursors map[string]netip.Addr  // our last dynamic claim: the cache may not show it yet
}

// NewManager returns a Manager on db (store.Store on NB, in production).
func NewManager(db Store, cfg Config) *Manager {
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if !cfg.IPv4Default.Base.IsValid() {
		cfg.IPv4Default = DefaultIPv4Pools
	}
	if !cfg.IPv6Default.Base.IsValid() {
		cfg.IPv6Default = DefaultIPv6Pools
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SystemID == nil {
		cfg.SystemID = func(context.Context) (string, error) {
			return "", usererr.Errorf(nil, "check how the daemon is started", "this host's OVN chassis name is not configured")
		}
	}
	return &Manager{db: db, cfg: cfg, pools: map[string]*sync.Mutex{}, cursors: map[string]netip.Addr{},
		orphans: grace.New(cfg.OrphanGrace), forgotten: grace.New(cfg.OrphanGrace)}
}

// poolLock returns the mutex of one pool and remembers nothing else.
func (m *Manager) poolLock(id string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.pools[id]
	if l == nil {
		l = &sync.Mutex{}
		m.pools[id] = l
	}
	return l
}

func (m *Manager) cursor(id string) (netip.Addr, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.cursors[id]
	return a, ok
}

func (m *Manager) setCursor(id string, a netip.Addr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursors[id] = a
}

// forget drops what this daemon remembers of a released pool. A claim still
// running on it holds the old mutex; the store settles any overlap.
func (m *Manager) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cursors, id)
	delete(m.pools, id)
}

// PoolID is what Docker holds for a pool: "<space>/<subnet>".
func PoolID(space string, subnet netip.Prefix) string { return space + "/" + subnet.String() }

// ParsePoolID splits a PoolID.
func ParsePoolID(id string) (space string, subnet netip.Prefix, err error) {
	space, rest, ok := strings.Cut(id, "/")
	if ok && (space == LocalSpace || space == GlobalSpace || space == SwarmSpace) {
		if subnet, err = netip.ParsePrefix(rest); err == nil && subnet == subnet.Masked() {
			return space, subnet, nil
		}
	}
	return "", netip.Prefix{}, usererr.Errorf(nil, notDocker, "%q is not a pool ID of the openvswitch IPAM driver", id)
}

// rowSpace is the space whose row holds a pool: a node's view of a swarm
// pool is the manager's pool.
func rowSpace(space string) string {
	if space == SwarmSpace {
		return GlobalSpace
	}
	return space
}

// notDocker is the advice for what only a broken caller sends: Docker
// itself never does.
const notDocker = "only a Docker engine should call this plugin"

// loadPool reads the pool behind a PoolID.
func (m *Manager) loadPool(ctx context.Context, id string) (*store.Pool, Pool, error) {
	space, subnet, err := ParsePoolID(id)
	if err != nil {
		return nil, Pool{}, err
	}
	rec, err := m.db.Find(ctx, rowSpace(space), subnet)
	if errors.Is(err, ovs.ErrNotFound) {
		return nil, Pool{}, usererr.Wrap(ErrUnknownPool, err, "remove the network and create it again",
			"pool %s is not known to the openvswitch IPAM driver", id)
	}
	if err != nil {
		return nil, Pool{}, err
	}
	p, err := NewPool(rec.Subnet, rec.Range)
	return rec, p, err
}
