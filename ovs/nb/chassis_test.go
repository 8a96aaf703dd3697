package nb_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// No northd runs here: the test plays its part, copying nb_cfg to hv_cfg
// while WaitChassis waits (the server holds its wait, no polling).
func TestWaitChassis(t *testing.T) {
	s := startServer(t)
	s.nbctl("init")
	c := s.nb(t)
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- c.WaitChassis(ctx, 20*time.Second) }()
	s.WaitHeld(1)
	nbCfg := s.nbctl("get", "NB_Global", ".", "nb_cfg")
	if nbCfg != "1" {
		t.Fatalf("nb_cfg %s after one wait, want 1", nbCfg)
	}
	s.nbctl("set", "NB_Global", ".", "hv_cfg="+nbCfg)
	if err := <-done; err != nil {
		t.Fatalf("every chassis confirmed: %v", err)
	}

	// A chassis that never confirms: the wait runs out, and the next one is
	// skipped at once until hv_cfg catches up.
	if err := c.WaitChassis(ctx, 200*time.Millisecond); !errors.Is(err, nb.ErrChassisBehind) || errors.Is(err, nb.ErrChassisSkipped) {
		t.Fatalf("nobody confirms: %v", err)
	}
	before := s.nbctl("get", "NB_Global", ".", "nb_cfg")
	if err := c.WaitChassis(ctx, time.Hour); !errors.Is(err, nb.ErrChassisSkipped) || !errors.Is(err, nb.ErrChassisBehind) {
		t.Fatalf("after a wait ran out: %v", err)
	}
	if after := s.nbctl("get", "NB_Global", ".", "nb_cfg"); after != before {
		t.Fatalf("a skipped wait bumped nb_cfg %s → %s", before, after)
	}
	n, _ := strconv.Atoi(before)
	s.nbctl("set", "NB_Global", ".", "hv_cfg="+strconv.Itoa(n))
	go func() { done <- c.WaitChassis(ctx, 20*time.Second) }()
	s.WaitHeld(1)
	s.nbctl("set", "NB_Global", ".", "hv_cfg="+strconv.Itoa(n+1))
	if err := <-done; err != nil {
		t.Fatalf("once hv_cfg caught up: %v", err)
	}
}
