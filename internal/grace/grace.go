// Package grace decides when something that looks orphaned has looked so
// long enough to be cleaned: reconciliation must never take a port, veth or
// address that a call in flight is about to use.
package grace

import (
	"sync"
	"time"
)

// Tracker remembers since when each key has looked orphaned. A key must
// look orphaned on every pass: one pass where it does not resets it.
type Tracker struct {
	grace time.Duration
	mu    sync.Mutex
	since map[string]time.Time
}

// New returns a Tracker with the given grace period.
func New(grace time.Duration) *Tracker {
	return &Tracker{grace: grace, since: map[string]time.Time{}}
}

// Observe records this pass's suspects and returns those that have been
// suspect, pass after pass, for at least the grace period. Keys not among
// suspects are forgotten; returned keys are forgotten too, so a failed
// clean-up waits another grace period before it is tried again.
func (t *Tracker) Observe(suspects []string, now time.Time) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := make(map[string]bool, len(suspects))
	var expired []string
	for _, k := range suspects {
		seen[k] = true
		first, ok := t.since[k]
		if !ok {
			t.since[k] = now
			continue
		}
		if now.Sub(first) >= t.grace {
			expired = append(expired, k)
			delete(t.since, k)
		}
	}
	for k := range t.since {
		if !seen[k] {
			delete(t.since, k)
		}
	}
	return expired
}
