package driver

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// reaperWindow is how long retired veths gather before one batch delete.
const reaperWindow = 200 * time.Millisecond

// reaper deletes the veths Leave retires, in batches. Deleting one veth
// holds the kernel's RTNL lock for an RCU grace period (~20 ms here) and
// stalls every other link operation, the next Join's included; deleting a
// batch costs about the same once. The OVS port goes synchronously in
// Leave, so a retired veth carries nothing while it waits.
type reaper struct {
	links  Links
	log    logrus.FieldLogger
	window time.Duration

	mu       sync.Mutex
	pending  map[string]chan struct{} // endpoint → done channel of its batch
	batch    chan struct{}            // done channel of the batch now gathering
	kick     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

func newReaper(links Links, log logrus.FieldLogger, window time.Duration) *reaper {
	r := &reaper{links: links, log: log, window: window, pending: map[string]chan struct{}{},
		batch: make(chan struct{}), kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go r.run()
	return r
}

// retire hands the endpoint's veth over for deletion.
func (r *reaper) retire(endpointID, host string) error {
	if err := r.links.Retire(host, linkMark(endpointID)); err != nil {
		return err
	}
	r.mu.Lock()
	r.pending[endpointID] = r.batch
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return nil
}

// busy reports whether the endpoint's veth is retired and not yet deleted.
func (r *reaper) busy(endpointID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.pending[endpointID]
	return ok
}

// wait blocks until the endpoint's retired veth, if any, is deleted, so a
// re-join never has its new pair deleted under it.
func (r *reaper) wait(endpointID string) {
	r.mu.Lock()
	done, ok := r.pending[endpointID]
	r.mu.Unlock()
	if ok {
		<-done
	}
}

// run deletes batches until close; its first batch also removes veths a
// previous, killed daemon retired.
func (r *reaper) run() {
	defer close(r.stopped)
	r.flush()
	for {
		select {
		case <-r.stop:
			r.flush()
			return
		case <-r.kick:
		}
		select {
		case <-r.stop:
		case <-time.After(r.window):
		}
		r.flush()
	}
}

func (r *reaper) flush() {
	r.mu.Lock()
	done := r.batch
	r.batch = make(chan struct{})
	r.mu.Unlock()
	if err := r.links.DeleteRetired(); err != nil {
		r.log.WithError(err).Error("retired veths left behind")
	}
	r.mu.Lock()
	for id, ch := range r.pending {
		if ch == done {
			delete(r.pending, id)
		}
	}
	r.mu.Unlock()
	close(done)
}

// close deletes what is retired and stops; later calls just wait.
func (r *reaper) close() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.stopped
}
