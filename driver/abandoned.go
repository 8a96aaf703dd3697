package driver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/ovs"
)

// abandonWindow is how long a failed CreateNetwork's switch is watched for:
// a frozen NB server runs the queued transaction whenever it wakes up.
const abandonWindow = 10 * time.Minute

// abandoned remembers networks whose CreateNetwork failed for want of an
// answer from NB: the switch may still be created afterwards, when a
// frozen or slow server gets to the transaction, though Docker has
// forgotten the network (it never retries a failed create under the same
// ID). Reconcile deletes such switches. Network IDs are unique, so this
// can never touch a network Docker knows.
type abandoned struct {
	mu    sync.Mutex
	since map[string]time.Time
}

func newAbandoned() *abandoned { return &abandoned{since: map[string]time.Time{}} }

// note records the outcome of a CreateNetwork.
func (a *abandoned) note(networkID string, err error, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if errors.Is(err, ovs.ErrUnavailable) {
		a.since[networkID] = now
	} else if err == nil {
		delete(a.since, networkID)
	}
}

// list returns the networks still watched, forgetting old ones.
func (a *abandoned) list(now time.Time) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for id, t := range a.since {
		if now.Sub(t) > abandonWindow {
			delete(a.since, id)
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// sweepAbandoned deletes the switches of abandoned networks that appeared.
func (d *Driver) sweepAbandoned(ctx context.Context) ([]string, error) {
	var swept []string
	for _, id := range d.abandoned.list(d.cfg.Now()) {
		unlock := d.locks.lock("net/" + id)
		deleted, err := d.removeSwitch(ctx, id)
		unlock()
		if err != nil {
			return swept, err
		}
		if deleted {
			d.cfg.Log.WithField("network", id).Warn("reconcile: removed the switch of a network whose creation had failed")
			swept = append(swept, id)
		}
	}
	return swept, nil
}
