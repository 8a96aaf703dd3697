package driver

import (
	"context"
	"time"
)

// bfdTimeout bounds Join's wait for BFD: sessions come up within about a
// second of ovn-controller enabling them (their detection time is 3 s).
const bfdTimeout = 3 * time.Second

// waitBFD waits, on a routed network, until BFD forwards on every tunnel
// ovn-controller runs it on. Routers with several gateway chassis reach
// the active one only over a tunnel whose BFD session is up, and a host's
// first container on such a router makes ovn-controller start the
// sessions: without the wait its first packets out (a DNS query, a SYN)
// are lost for about a second. Later Joins find them up and do not wait.
// A wait that runs out (a gateway chassis is down) is not repeated until
// every session forwards again; like the other waits it never fails Join.
func (d *Driver) waitBFD(ctx context.Context, endpointID string) {
	down, err := d.ovs.BFDDown(ctx)
	log := d.cfg.Log.WithField("endpoint", endpointID)
	switch {
	case err != nil:
		log.WithError(err).Debug("BFD sessions not read")
		return
	case len(down) == 0:
		if d.bfdBehind.Swap(false) {
			log.Info("BFD forwards to every gateway chassis again; Joins on routed networks wait for it again")
		}
		return
	case d.bfdBehind.Load():
		return
	}
	start := time.Now()
	err = d.ovs.WaitBFD(ctx, down, bfdTimeout)
	if err == nil {
		log.WithField("tunnels", down).WithField("waited", time.Since(start)).Debug("BFD forwards to the gateway chassis")
		return
	}
	d.bfdBehind.Store(true)
	log.WithError(err).WithField("tunnels", down).Warn("BFD does not forward to every gateway chassis: a gateway " +
		"chassis may be down. Routed Joins skip this wait until it does")
}
