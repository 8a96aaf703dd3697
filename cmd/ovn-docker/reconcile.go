package main

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/ipam"
	"github.com/ovn-docker/ovn-docker/names"
)

// engine is what reconciliation reads of this host's Docker engine.
type engine interface {
	Addr() string
	Networks(ctx context.Context) ([]dockerapi.Network, error)
	Containers(ctx context.Context) ([]dockerapi.Container, error)
}

// reconciler cleans up after crashes, lost calls and removals Docker never
// told the plugin about: once at start, after the socket listens, then
// every --reconcile-interval.
type reconciler struct {
	d       *driver.Driver
	im      *ipam.Manager
	docker  engine        // nil: Docker's API is not used
	names   *names.Syncer // nil without Docker's API
	timeout time.Duration
	log     logrus.FieldLogger
	nested  bool // in a VM: endpoints are reconciled against Docker's

	dockerOK *bool  // what the last pass found of Docker's API; nil before the first
	passed   bool   // a pass has completed
	started  func() // called once the first pass has completed (startupGC's restore)
}

func (r *reconciler) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *reconciler) once(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, r.timeout)
	defer cancel()
	// A pass cut short by the daemon's stop is not worth a warning.
	warn := func(err error, what string) {
		if parent.Err() == nil {
			r.log.WithError(err).Warn("reconcile: " + what + " not checked")
		}
	}
	forgotten, pools := r.forgotten(ctx, warn)
	rep, err := r.d.Reconcile(ctx)
	if err != nil {
		warn(err, "endpoints")
		return
	}
	inUse, err := r.d.AddressesInUse(ctx)
	if err != nil {
		warn(err, "address claims")
		return
	}
	released, err := r.im.ReleaseOrphans(ctx, inUse)
	if err != nil {
		warn(err, "address claims")
	}
	r.nestedEndpoints(ctx, warn)
	if r.names != nil {
		if err := r.names.Sync(ctx); err != nil {
			warn(err, "DNS names of this host's containers")
		}
	}
	if !r.passed {
		// The NB's first monitor reply and this first pass over every
		// owned row are the largest things the daemon ever reads: hand
		// the memory they took back to the system now rather than over
		// minutes (docs/benchmarks.md, 10 000 endpoints).
		if r.started != nil {
			r.started()
		}
		debug.FreeOSMemory()
		r.passed = true
	}
	r.log.WithFields(logrus.Fields{"endpoints": rep.Endpoints, "repaired": len(rep.Repaired), "rehomed": len(rep.Rehomed),
		"removed": len(rep.Removed), "switches": len(rep.Switches), "router_ports": len(rep.Routers),
		"published_ports": len(rep.Published), "released": len(released),
		"forgotten_networks": len(forgotten), "forgotten_pools": len(pools)}).Debug("reconcile pass")
}

// forgotten removes the networks and pools this host's Docker engine no
// longer knows. Without Docker's API it does nothing, and says so when
// that starts and when it ends, not on every pass.
func (r *reconciler) forgotten(ctx context.Context, warn func(error, string)) (networks, pools []string) {
	if r.docker == nil {
		return nil, nil
	}
	nets, err := r.docker.Networks(ctx)
	if ctx.Err() == nil {
		r.noteDocker(err)
	}
	if err != nil {
		return nil, nil
	}
	networks, err = r.d.ReconcileNetworks(ctx, dockerapi.Known(nets))
	if err != nil {
		warn(err, "networks Docker forgot")
	}
	pools, err = r.im.ReleaseForgottenPools(ctx, nets)
	if err != nil {
		warn(err, "pools Docker forgot")
	}
	return networks, pools
}

func (r *reconciler) noteDocker(err error) {
	ok := err == nil
	if r.dockerOK != nil && *r.dockerOK == ok {
		return
	}
	first := r.dockerOK == nil
	r.dockerOK = &ok
	switch {
	case !ok:
		r.log.WithError(err).WithField("docker", r.docker.Addr()).Warn("cannot read Docker's networks: networks and pools " +
			"removed while the plugin was stopped will not be cleaned up until it can (ovn-docker status shows them as stale)")
	case !first:
		r.log.WithField("docker", r.docker.Addr()).Info("reading Docker's networks again")
	}
}

// nestedEndpoints, in a VM, removes the nested ports of endpoints no
// container of Docker's holds any more (driver.ReconcileNested).
func (r *reconciler) nestedEndpoints(ctx context.Context, warn func(error, string)) {
	if !r.nested || r.docker == nil {
		return
	}
	cs, err := r.docker.Containers(ctx)
	if err != nil {
		warn(err, "nested endpoints")
		return
	}
	known := map[string]bool{}
	for _, c := range cs {
		for _, e := range c.Endpoints {
			if e.EndpointID != "" {
				known[e.EndpointID] = true
			}
		}
	}
	if _, err := r.d.ReconcileNested(ctx, known); err != nil {
		warn(err, "nested endpoints")
	}
}
