package nb_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

func routedSwitch(i int, router string) nb.Switch {
	return nb.Switch{Name: fmt.Sprintf("docker-net%d", i), NetworkID: fmt.Sprintf("net%d", i),
		Subnets: []string{fmt.Sprintf("10.90.%d.0/24", i)}, Gateways: []string{fmt.Sprintf("10.90.%d.1/24", i), fmt.Sprintf("fd90:%d::1/64", i)},
		MTU: 1442, Chassis: "host1", Router: router}
}

// attach creates a routed network's switch and attaches it, as
// CreateNetwork does.
func attach(t *testing.T, c *nb.Client, s nb.Switch) {
	t.Helper()
	if err := attachErr(t, c, s); err != nil {
		t.Fatal(err)
	}
}

// made creates a routed network's switch and reads it back, as
// CreateNetwork does before attaching it.
func made(t *testing.T, c *nb.Client, s nb.Switch) (*nb.Switch, error) {
	ctx := testCtx(t)
	if _, err := c.EnsureSwitch(ctx, s); err != nil {
		return nil, err
	}
	return c.Switch(ctx, s.NetworkID)
}

func attachErr(t *testing.T, c *nb.Client, s nb.Switch) error {
	ctx := testCtx(t)
	sw, err := made(t, c, s)
	if err != nil {
		return err
	}
	for range 2 { // a retry is a no-op
		if err := c.EnsureRouterPort(ctx, sw); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

func TestRouterComesWithItsFirstNetworkGoesWithItsLast(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	attach(t, c, routedSwitch(1, "r1"))
	attach(t, c, routedSwitch(2, "r1"))
	attach(t, c, routedSwitch(3, "r2"))
	routers, err := c.Routers(ctx)
	want := map[string][]string{"r1": {"docker-net1", "docker-net2"}, "r2": {"docker-net3"}}
	if err != nil || !reflect.DeepEqual(routers, want) {
		t.Fatalf("routers %v %v; want %v", routers, err, want)
	}
	if got := s.nbctl("get", "Logical_Router_Port", "rtos-docker-net1", "networks", "mac"); got != "[\"10.90.1.1/24\", \"fd90:1::1/64\"]\n\"0a:58:0a:5a:01:01\"" {
		t.Fatalf("router port: %q", got)
	}
	if got := s.nbctl("get", "Logical_Switch_Port", "stor-docker-net1", "type", "options:router-port"); got != "router\nrtos-docker-net1" {
		t.Fatalf("switch's router port: %q", got)
	}
	if sw, err := c.Switch(ctx, "net1"); err != nil || sw.Router != "r1" || sw.Ports != 0 {
		t.Fatalf("switch read back: %+v %v; want router r1 and no endpoint port", sw, err)
	}
	for i, left := range []map[string][]string{
		{"r1": {"docker-net2"}, "r2": {"docker-net3"}},
		{"r2": {"docker-net3"}},
		{},
	} {
		if _, err := c.DeleteSwitch(ctx, fmt.Sprintf("net%d", i+1), "host1"); err != nil {
			t.Fatal(err)
		}
		if routers, err := c.Routers(ctx); err != nil || !reflect.DeepEqual(routers, left) {
			t.Fatalf("after network %d went: %v %v; want %v", i+1, routers, err, left)
		}
	}
	for _, table := range []string{"Logical_Router", "Logical_Router_Port", "Logical_Switch_Port"} {
		if got := s.nbctl("--bare", "--columns=name", "list", table); got != "" {
			t.Errorf("%s left: %q", table, got)
		}
	}
}

// A router someone else made is not ovn-docker's to add ports to.
func TestForeignRouterIsRefused(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	s.nbctl("lr-add", "theirs")
	sw := routedSwitch(1, "theirs")
	got, err := made(t, c, sw)
	if err != nil {
		t.Fatal(err)
	}
	err = c.EnsureRouterPort(ctx, got)
	if !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("foreign router: %v", err)
	}
	usererrtest.Check(t, err, "logical router theirs")
}

// A network without a gateway has no address for its router port.
func TestRouterNeedsAGateway(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	sw := routedSwitch(1, "r1")
	sw.Gateways = nil
	got, err := made(t, c, sw)
	if err != nil {
		t.Fatal(err)
	}
	usererrtest.Check(t, c.EnsureRouterPort(ctx, got), "router r1")
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Router"); got != "" {
		t.Fatalf("router made anyway: %q", got)
	}
}

// Networks joining and leaving one router at once, each daemon on its own
// connection: the router is there exactly while a network is attached.
func TestRouterRacesKeepItRight(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	clients := []*nb.Client{s.nb(t), s.nb(t), s.nb(t), s.nb(t)}
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := attachErr(t, c, routedSwitch(i+1, "r")); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if routers, err := clients[0].Routers(ctx); err != nil || len(routers["r"]) != len(clients) || len(routers) != 1 {
			t.Fatalf("round %d, all attached: %v %v", round, routers, err)
		}
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.DeleteSwitch(ctx, fmt.Sprintf("net%d", i+1), "host1"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if routers, err := clients[0].Routers(ctx); err != nil || len(routers) != 0 {
			t.Fatalf("round %d, all gone: %v %v", round, routers, err)
		}
	}
}

// Hosts attaching one shared switch at once: one router port, no error.
func TestSharedSwitchAttachedOnceByRacingHosts(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	clients := []*nb.Client{s.nb(t), s.nb(t), s.nb(t)}
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				host := fmt.Sprintf("host%d", i+1)
				sw := sharedSwitch(host)
				sw.Router = "r"
				if _, err := c.EnsureSharedSwitch(ctx, sw, 1442); err != nil {
					t.Error(err)
					return
				}
				got, err := c.Switch(ctx, "net-"+host)
				if err == nil {
					err = c.EnsureRouterPort(ctx, got)
				}
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if routers, err := clients[0].Routers(ctx); err != nil || !reflect.DeepEqual(routers, map[string][]string{"r": {"prod"}}) {
			t.Fatalf("round %d: %v %v", round, routers, err)
		}
		for i, c := range clients {
			if _, err := c.DeleteSwitch(ctx, fmt.Sprintf("net-host%d", i+1), fmt.Sprintf("host%d", i+1)); err != nil {
				t.Fatal(err)
			}
		}
		if routers, err := clients[0].Routers(ctx); err != nil || len(routers) != 0 {
			t.Fatalf("round %d, all gone: %v %v", round, routers, err)
		}
	}
}

// A switch deleted by hand leaves its router port; reconciliation's prune
// removes it, and the router with its last port.
func TestPruneRoutersAfterASwitchDeletedByHand(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	attach(t, c, routedSwitch(1, "r1"))
	attach(t, c, routedSwitch(2, "r1"))
	s.nbctl("lr-add", "theirs")
	if gone, err := c.PruneRouters(ctx); err != nil || len(gone) != 0 {
		t.Fatalf("nothing to prune: %v %v", gone, err)
	}
	s.nbctl("ls-del", "docker-net1")
	if gone, err := c.PruneRouters(ctx); err != nil || !reflect.DeepEqual(gone, []string{"rtos-docker-net1"}) {
		t.Fatalf("pruned %v %v", gone, err)
	}
	s.nbctl("ls-del", "docker-net2")
	if gone, err := c.PruneRouters(ctx); err != nil || len(gone) != 1 {
		t.Fatalf("pruned %v %v", gone, err)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Router"); got != "theirs" {
		t.Fatalf("routers left: %q; want only the one ovn-docker did not make", got)
	}
}
