// Package names puts the names of this host's containers on routed
// networks into OVN, so containers on other hosts resolve them: Docker's
// embedded DNS answers only for its own engine's containers and forwards
// other names out of the container, where ovn-controller answers from
// the switch's DNS records. Names are learned from this host's Docker
// engine, read only: at start, on every container and network event, and
// on each reconciliation pass.
package names

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// Docker is what is read of this host's engine.
type Docker interface {
	Addr() string
	Containers(ctx context.Context) ([]dockerapi.Container, error)
	Inspect(ctx context.Context, id string) (*dockerapi.Container, error)
	Events(ctx context.Context, ready func(), fn func(dockerapi.Event)) error
}

// NB is what is read and written of the Northbound database.
type NB interface {
	Ports(ctx context.Context) ([]*nb.Port, error)
	Switches(ctx context.Context) ([]*nb.Switch, error)
	SyncNames(ctx context.Context, chassis string, want []nb.Names, keep []string) (written, removed int, err error)
}

// Syncer keeps this host's names in NB.
type Syncer struct {
	mu      sync.Mutex // one sync at a time: nothing else guards this host's rows
	docker  Docker
	nb      NB
	chassis func(context.Context) (string, error)
	timeout time.Duration
	log     logrus.FieldLogger
}

// New returns a syncer; chassis names this host (its system-id), timeout
// bounds each sync.
func New(d Docker, n NB, chassis func(context.Context) (string, error), timeout time.Duration, log logrus.FieldLogger) *Syncer {
	return &Syncer{docker: d, nb: n, chassis: chassis, timeout: timeout, log: log}
}

// Sync makes NB's names of this host's containers what Docker says now.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	chassis, err := s.chassis(ctx)
	if err != nil {
		return err
	}
	ports, err := s.nb.Ports(ctx)
	if err != nil {
		return err
	}
	sws, err := s.nb.Switches(ctx)
	if err != nil {
		return err
	}
	cs, keep, err := s.containers(ctx, Endpoints(ports, routed(sws), chassis))
	if err != nil {
		return err
	}
	written, removed, err := s.nb.SyncNames(ctx, chassis, Want(cs, ports, routed(sws), chassis), keep)
	if written+removed > 0 {
		s.log.WithField("written", written).WithField("removed", removed).Debug("names: DNS records updated")
	}
	return err
}

// inspectTimeout bounds the wait for one container, whose lock Docker
// holds while it starts it or connects it (Join waits for OVN there).
const inspectTimeout = 2 * time.Second

// containers reads the containers that have one of the endpoints, each
// inspected for its aliases; keep lists the endpoints of those that could
// not be, whose names stay as they are until the next sync.
func (s *Syncer) containers(ctx context.Context, endpoints map[string]*nb.Port) (cs []dockerapi.Container, keep []string, err error) {
	list, err := s.docker.Containers(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range list {
		if !slices.ContainsFunc(c.Endpoints, func(e dockerapi.Endpoint) bool { return endpoints[e.EndpointID] != nil }) {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, inspectTimeout)
		full, err := s.docker.Inspect(ictx, c.ID)
		cancel()
		switch {
		case err != nil:
			s.log.WithError(err).WithField("container", c.ID).Debug("names: container not read; its names stay as they are")
			for _, e := range c.Endpoints {
				keep = append(keep, e.EndpointID)
			}
		case full != nil:
			cs = append(cs, *full)
		}
	}
	return cs, keep, nil
}

// routed lists the Docker networks (of any host) on routed switches.
func routed(sws []*nb.Switch) map[string]bool {
	out := map[string]bool{}
	for _, s := range sws {
		if s.Router == "" {
			continue
		}
		out[s.NetworkID] = true
		for _, r := range s.Refs {
			out[r.NetworkID] = true
		}
	}
	return out
}

// label is what a DNS name may hold; Docker's names and aliases allow
// more ('_'), which resolvers pass through unchanged.
var label = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_.-]{0,252}[a-z0-9_])?$`)

// Want is the names this host's endpoints on routed networks answer to:
// the container's name, its aliases and what Docker's DNS answers for it,
// at the logical port's addresses. Endpoints not bound here, or not in
// OVN, are left out.
func Want(cs []dockerapi.Container, ports []*nb.Port, routed map[string]bool, chassis string) []nb.Names {
	byEndpoint := Endpoints(ports, routed, chassis)
	var out []nb.Names
	for _, c := range cs {
		for _, e := range c.Endpoints {
			p := byEndpoint[e.EndpointID]
			if p == nil || e.EndpointID == "" {
				continue
			}
			ips := strings.Join(p.IPs, " ")
			rec := map[string]string{}
			for _, n := range slices.Concat([]string{c.Name}, e.Aliases, e.DNSNames) {
				if n = strings.ToLower(n); label.MatchString(n) {
					rec[n] = ips
				}
			}
			if len(rec) > 0 {
				out = append(out, nb.Names{EndpointID: e.EndpointID, NetworkID: p.NetworkID, Records: rec})
			}
		}
	}
	slices.SortFunc(out, func(a, b nb.Names) int { return strings.Compare(a.EndpointID, b.EndpointID) })
	return out
}

// Endpoints are the ports, by endpoint, whose names this host keeps: bound
// here (or nested in this VM), on routed networks, with an address.
func Endpoints(ports []*nb.Port, routed map[string]bool, chassis string) map[string]*nb.Port {
	out := map[string]*nb.Port{}
	for _, p := range ports {
		if p.Home() == chassis && routed[p.NetworkID] && len(p.IPs) > 0 {
			out[p.EndpointID] = p
		}
	}
	return out
}

// settled are the events after which a container's names may differ.
var settled = map[string]bool{"start": true, "die": true, "destroy": true, "rename": true,
	"connect": true, "disconnect": true}

// Run follows Docker's events until ctx ends, syncing once subscribed and
// after each event that may change names, once Docker has settled the
// container; a broken stream is subscribed again, with backoff.
func (s *Syncer) Run(ctx context.Context) {
	kick := make(chan string, 256)
	done := make(chan struct{})
	go func() { defer close(done); s.follow(ctx, kick) }()
	defer func() { <-done }()
	for {
		var ids []string
		select {
		case <-ctx.Done():
			return
		case id := <-kick:
			ids = append(ids, id)
		}
		for more := true; more; {
			select {
			case id := <-kick:
				ids = append(ids, id)
			default:
				more = false
			}
		}
		s.settleAndSync(ctx, ids)
	}
}

func (s *Syncer) settleAndSync(ctx context.Context, ids []string) {
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if id == "" {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, s.timeout)
		_, err := s.docker.Inspect(sctx, id)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.WithError(err).WithField("container", id).Debug("names: container not settled")
		}
	}
	if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
		s.log.WithError(err).Warn("names: the DNS names of this host's containers are not up to date")
	}
}

// follow feeds kick with the containers of relevant events ("" once
// subscribed: sync everything).
func (s *Syncer) follow(ctx context.Context, kick chan<- string) {
	b := backoff.NewExponentialBackOff()
	b.MaxInterval, b.MaxElapsedTime = 30*time.Second, 0
	send := func(id string) {
		select {
		case kick <- id:
		default: // full: the syncs queued cover it, or the next pass
		}
	}
	for ctx.Err() == nil {
		err := s.docker.Events(ctx, func() { b.Reset(); send("") }, func(e dockerapi.Event) {
			if settled[e.Action] {
				send(e.ContainerID())
			}
		})
		if ctx.Err() != nil {
			return
		}
		wait := b.NextBackOff()
		s.log.WithError(err).WithField("docker", s.docker.Addr()).WithField("retry_in", wait).Debug("names: following Docker's events again")
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}
