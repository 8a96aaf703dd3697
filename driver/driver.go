// Package driver implements Docker's remote NetworkDriver semantics on OVN:
// a network is a logical switch, an endpoint a logical port, a join a veth
// whose host end sits on the integration bridge bound to that port.
//
// Contract: every call validates its request into a typed value before it
// acts; creating what exists and deleting what is gone both succeed, so
// Docker may retry any call; a failing call undoes what it made; errors read
// as one sentence for the docker CLI user (ErrInvalid marks refused input).
// The driver keeps no state of its own: OVN and the local OVS database are
// the truth, so a restarted daemon carries on where the last one stopped.
package driver

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/faults"
	"github.com/ovn-docker/ovn-docker/internal/grace"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// NB is what the driver needs of the OVN Northbound database.
type NB interface {
	EnsureSwitch(ctx context.Context, s nb.Switch) (bool, error)
	Switch(ctx context.Context, networkID string) (*nb.Switch, error)
	EnsureSharedSwitch(ctx context.Context, s nb.Switch, defaultMTU int) (bool, error)
	DeleteSwitch(ctx context.Context, networkID, chassis string) (bool, error)
	EnsurePort(ctx context.Context, sw *nb.Switch, p nb.Port) (bool, error)
	BindPort(ctx context.Context, name, chassis string) error
	Port(ctx context.Context, name string) (*nb.Port, error)
	Ports(ctx context.Context) ([]*nb.Port, error)
	Switches(ctx context.Context) ([]*nb.Switch, error)
	DeletePort(ctx context.Context, name string) (bool, error)
	PortWithAddress(ctx context.Context, s *nb.Switch, ip, endpointID string) (*nb.Port, error)
	WaitChassis(ctx context.Context, timeout time.Duration) error
	EnsureRouterPort(ctx context.Context, s *nb.Switch) error
	PruneRouters(ctx context.Context) ([]string, error)
	EnsureUplinks(ctx context.Context) ([]string, error)
	PrunePortGroups(ctx context.Context) ([]string, error)
	EnsureExposed(ctx context.Context, s *nb.Switch, p nb.Port) error
	WaitTag(ctx context.Context, name string, timeout time.Duration) (int, error)
	publishedNB
}

// OVS is what the driver needs of this host's Open_vSwitch database.
type OVS interface {
	SystemID(ctx context.Context) (string, error)
	EncapIP(ctx context.Context) (string, error)
	Bridge(ctx context.Context, name string) (*local.Bridge, error)
	EnsureInterface(ctx context.Context, bridge string, i local.Iface) (bool, error)
	Interface(ctx context.Context, name string) (*local.Iface, error)
	Interfaces(ctx context.Context) ([]*local.Iface, error)
	DeleteInterface(ctx context.Context, name string) (bool, error)
	WaitInstalled(ctx context.Context, name string, timeout time.Duration) error
	BFDDown(ctx context.Context) ([]string, error)
	WaitBFD(ctx context.Context, names []string, timeout time.Duration) error
}

// Links is what the driver needs of the host's network devices.
type Links interface {
	EnsureVeth(v hostnet.Veth) error
	DeleteLink(name, mark string) error
	Retire(name, mark string) error
	DeleteRetired() error
	Veths(prefix string) ([]hostnet.VethInfo, error)
	UnderlayMTU(encapIP string) (int, error)
	EnsureVLAN(v hostnet.VLAN) error
	LinkMTU(name string) (int, error)
}

// Config holds the driver's settings.
type Config struct {
	Bridge string // integration bridge, normally br-int
	// ReadyTimeout bounds Join's wait for ovn-controller to install the
	// port's flows; on expiry Join still succeeds and logs a warning.
	ReadyTimeout time.Duration
	// RemoteReadyTimeout bounds Join's wait, on a network shared by hosts,
	// for every chassis to have the port's flows (NB_Global hv_cfg), so a
	// container on another host reaches the new one with its first packet;
	// 0 skips it.
	RemoteReadyTimeout time.Duration
	// OrphanGrace is how long an endpoint's pieces on this host must look
	// orphaned, pass after pass, before reconciliation removes them.
	OrphanGrace time.Duration
	// Swarm makes the driver global-scoped, for swarm networks: the swarm
	// manager allocates each network and hands its settings to every node.
	// Docker 20.10 then refuses networks outside a swarm (docs/multihost.md#swarm).
	Swarm bool
	// Nested, when set, runs the driver inside a VM (see Nested): no OVS,
	// the OVS handle is nil.
	Nested *Nested
	Log    logrus.FieldLogger
	// Now is the clock reconciliation judges grace periods by; tests pass
	// their own. Nil means time.Now.
	Now func() time.Time
}

// Driver serves Docker's NetworkDriver calls.
type Driver struct {
	nb        NB
	ovs       OVS
	links     Links
	cfg       Config
	locks     *keyedMutex
	reaper    *reaper
	orphans   *grace.Tracker // endpoints' pieces
	forgotten *grace.Tracker // networks Docker no longer knows
	// nestedOrphans: in a VM, nested ports Docker no longer has.
	nestedOrphans *grace.Tracker
	abandoned     *abandoned
	// chassisBehind: a wait for every chassis ran out, and none has
	// succeeded since (said once each way, not on every Join).
	chassisBehind atomic.Bool
	bfdBehind     atomic.Bool // the same for BFD to the gateway chassis
}

// New returns a driver using the given handles.
func New(nb NB, o OVS, links Links, cfg Config) *Driver {
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if cfg.Bridge == "" {
		cfg.Bridge = "br-int"
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{nb: nb, ovs: o, links: links, cfg: cfg, locks: newKeyedMutex(),
		reaper: newReaper(links, cfg.Log, reaperWindow), orphans: grace.New(cfg.OrphanGrace),
		forgotten: grace.New(cfg.OrphanGrace), nestedOrphans: grace.New(cfg.OrphanGrace), abandoned: newAbandoned()}
}

// crashPoint kills the daemon at a named point when a fault test asks for
// it; only the fault tests' build (-tags faults) has such points.
func (d *Driver) crashPoint(name string) { faults.Point(d.cfg.Log, name) }

// Close finishes background work (deleting retired veths) and stops it.
func (d *Driver) Close() { d.reaper.close() }

// rollbackTimeout bounds undo work that runs after a call has failed.
const rollbackTimeout = 10 * time.Second
