package nb_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// policies lists a router's policies as "priority action match" lines.
func policies(s *testServer, router string) []string {
	out := s.nbctl("--bare", "--columns=priority,action,match", "find", "Logical_Router_Policy")
	var rows []string
	for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
		if block != "" {
			rows = append(rows, strings.ReplaceAll(block, "\n", " "))
		}
	}
	if n := s.nbctl("--bare", "--columns=policies", "list", "Logical_Router", router); n == "" && len(rows) > 0 {
		return append(rows, "(not on router "+router+")")
	}
	return rows
}

// An isolated network's two policies come with its router port, on a new
// router or an existing one, once however often the attach is retried, and
// go with it; a policy someone else put on the router stays.
func TestIsolateLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	one, three := routedSwitch(1, "r1"), routedSwitch(3, "r1")
	one.Isolate, three.Isolate = true, true
	attach(t, c, one) // makes the router
	attach(t, c, routedSwitch(2, "r1"))
	attach(t, c, three) // joins it
	want := []string{
		`1001 allow (inport == "rtos-docker-net1" && (outport == "rtos-docker-net1" || outport == "rtoe-r1")) || (inport == "rtoe-r1" && outport == "rtos-docker-net1")`,
		`1000 drop inport == "rtos-docker-net1" || outport == "rtos-docker-net1"`,
	}
	got := policies(s, "r1")
	if len(got) != 4 || !hasAll(got, want...) || !hasAll(got, strings.ReplaceAll(want[1], "net1", "net3")) {
		t.Fatalf("policies:\n%s\nwant net1's and net3's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sw, err := c.Switch(ctx, "net1"); err != nil || !sw.Isolate || sw.Policy() != "isolate=true" {
		t.Fatalf("switch read back: %+v %v", sw, err)
	}
	s.nbctl("lr-policy-add", "r1", "10", "ip4.src == 192.0.2.1", "drop")
	if _, err := c.DeleteSwitch(ctx, "net1", "host1"); err != nil {
		t.Fatal(err)
	}
	if got := policies(s, "r1"); len(got) != 3 || hasAll(got, want[0]) || !hasAll(got, "10 drop ip4.src == 192.0.2.1") {
		t.Fatalf("after net1 went: %q", got)
	}
	for _, id := range []string{"net2", "net3"} {
		if _, err := c.DeleteSwitch(ctx, id, "host1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.nbctl("--bare", "--columns=_uuid", "list", "Logical_Router_Policy"); got != "" {
		t.Fatalf("policies left with the router: %q", got)
	}
}

// A switch deleted by hand takes its policies off the router with its
// router port at the next reconciliation pass.
func TestPruneRoutersTakesIsolation(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	one := routedSwitch(1, "r1")
	one.Isolate = true
	attach(t, c, one)
	attach(t, c, routedSwitch(2, "r1"))
	s.nbctl("ls-del", "docker-net1")
	if _, err := c.PruneRouters(ctx); err != nil {
		t.Fatal(err)
	}
	if got := policies(s, "r1"); len(got) != 0 {
		t.Fatalf("policies left: %q", got)
	}
}

// Hosts must agree on isolation for a shared network.
func TestSharedSwitchIsolateMustAgree(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	a := sharedSwitch("host1")
	a.Router, a.Isolate = "r1", true
	if _, err := c.EnsureSharedSwitch(ctx, a, 1442); err != nil {
		t.Fatal(err)
	}
	b := sharedSwitch("host2")
	b.Router = "r1"
	_, err := c.EnsureSharedSwitch(ctx, b, 1442)
	if !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("joined without isolation: %v", err)
	}
	usererrtest.Check(t, err, "OVN network prod")
}

// hasAll: every one of want is a row of have.
func hasAll(have []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
