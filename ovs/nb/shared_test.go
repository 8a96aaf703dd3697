package nb_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

func sharedSwitch(host string) nb.Switch {
	return nb.Switch{Shared: "prod", Subnets: []string{"10.88.0.0/24"}, Gateways: []string{"10.88.0.1/24"},
		Pools: []string{"ovnlocal/10.88.0.0/24"},
		Refs:  []nb.Ref{{NetworkID: "net-" + host, Chassis: host, Aux: []string{"10.88.0.5"}}}}
}

func TestSharedSwitchJoinAndLeave(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	a, b := s.nb(t), s.nb(t)
	if created, err := a.EnsureSharedSwitch(ctx, sharedSwitch("host1"), 1442); err != nil || !created {
		t.Fatalf("first host: %v %v", created, err)
	}
	if created, err := b.EnsureSharedSwitch(ctx, sharedSwitch("host2"), 1400); err != nil || created {
		t.Fatalf("second host: %v %v", created, err)
	}
	// A retry is a no-op.
	if _, err := b.EnsureSharedSwitch(ctx, sharedSwitch("host2"), 1400); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("--bare", "--columns=name", "find", "Logical_Switch", "name=prod"); got != "prod" {
		t.Fatalf("switches named prod: %q", got)
	}
	sw, err := b.Switch(ctx, "net-host2")
	if err != nil || sw.Name != "prod" || len(sw.Refs) != 2 || sw.MTU != 1442 {
		t.Fatalf("switch of host2's network: %+v %v; want prod, two refs, the first host's MTU", sw, err)
	}
	other := sharedSwitch("host3")
	other.Subnets = []string{"10.89.0.0/24"}
	_, err = b.EnsureSharedSwitch(ctx, other, 1442)
	if !errors.Is(err, ovs.ErrConflict) || !strings.Contains(err.Error(), "10.88.0.0/24") || !strings.Contains(err.Error(), "10.89.0.0/24") {
		t.Fatalf("a different subnet: %v", err)
	}
	if deleted, err := a.DeleteSwitch(ctx, "net-host1", "host1"); err != nil || deleted {
		t.Fatalf("first host leaves: %v %v; want the switch kept", deleted, err)
	}
	if _, err := a.Switch(ctx, "net-host1"); !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("host1's network still found: %v", err)
	}
	if deleted, err := b.DeleteSwitch(ctx, "net-host2", "host2"); err != nil || !deleted {
		t.Fatalf("last host leaves: %v %v; want the switch gone", deleted, err)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch"); got != "" {
		t.Fatalf("left: %q", got)
	}
}

// Hosts joining and leaving at once, each with its own connection as
// daemons have: the switch is there exactly while a reference is, never
// deleted under a host that joined, never left with no reference.
func TestSharedSwitchRacesKeepItRight(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	clients := []*nb.Client{s.nb(t), s.nb(t), s.nb(t)}
	for round := 0; round < 10; round++ {
		for i, c := range clients[:2] {
			if _, err := c.EnsureSharedSwitch(ctx, sharedSwitch(fmt.Sprint("h", i)), 1442); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for i, c := range clients[:2] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.DeleteSwitch(ctx, fmt.Sprint("net-h", i), fmt.Sprint("h", i))
				errs <- err
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := clients[2].EnsureSharedSwitch(ctx, sharedSwitch("h2"), 1442)
			errs <- err
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		ids := s.nbctl("--bare", "--columns=external_ids", "find", "Logical_Switch", "name=prod")
		if !strings.Contains(ids, "docker:ref:net-h2@h2") || strings.Contains(ids, "net-h0") || strings.Contains(ids, "net-h1") {
			t.Fatalf("round %d: the switch's references are %q; want only h2's", round, ids)
		}
		if _, err := clients[2].DeleteSwitch(ctx, "net-h2", "h2"); err != nil {
			t.Fatal(err)
		}
		if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch"); got != "" {
			t.Fatalf("round %d: left %q", round, got)
		}
	}
}
