package main

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/ipam"
)

// reconcileLoop cleans up after crashes and lost calls: once at start,
// after the socket listens, then every --reconcile-interval.
func reconcileLoop(ctx context.Context, d *driver.Driver, im *ipam.Manager, cfg serveConfig, log logrus.FieldLogger) {
	t := time.NewTicker(cfg.Reconcile)
	defer t.Stop()
	for {
		reconcileOnce(ctx, d, im, cfg.OVNTimeout, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func reconcileOnce(ctx context.Context, d *driver.Driver, im *ipam.Manager, timeout time.Duration, log logrus.FieldLogger) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := d.Reconcile(ctx)
	if err != nil {
		log.WithError(err).Warn("reconcile: endpoints not checked")
		return
	}
	inUse, err := d.AddressesInUse(ctx)
	if err != nil {
		log.WithError(err).Warn("reconcile: address claims not checked")
		return
	}
	released, err := im.ReleaseOrphans(ctx, inUse)
	if err != nil {
		log.WithError(err).Warn("reconcile: address claims not checked")
	}
	log.WithFields(logrus.Fields{"endpoints": rep.Endpoints, "repaired": len(rep.Repaired),
		"removed": len(rep.Removed), "switches": len(rep.Switches), "released": len(released)}).Debug("reconcile pass")
}
