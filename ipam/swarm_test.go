package ipam

import (
	"context"
	"slices"
	"testing"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ipam/store"
)

// What swarm asks of an IPAM driver, in its order: the leading manager
// allocates the pool, the gateway and each task's address (serially), and
// asks for all of it again after a change of leader; each node then asks
// for the pool in the local space and for the addresses it was given.
func TestSwarmPools(t *testing.T) {
	s := newFakeStore()
	cfg := testConfig(newClock())
	cfg.Swarm = true
	m := NewManager(s, cfg)
	c := ipamClient{t, m}
	ctx := context.Background()
	serial := map[string]string{optSerial: "true"}
	global := func() string {
		t.Helper()
		r, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: GlobalSpace, Pool: "10.90.0.0/24", Options: serial})
		if err != nil {
			t.Fatal(err)
		}
		return r.PoolID
	}
	pool := global()
	if again := global(); pool != "ovnglobal/10.90.0.0/24" || again != pool {
		t.Fatalf("pools %s then %s", pool, again)
	}
	gw, err := c.addr(pool, "", true)
	if err != nil || gw != "10.90.0.1/24" {
		t.Fatalf("gateway %s %v", gw, err)
	}
	task := c.mustAddr(pool, "")
	for _, replay := range []string{"10.90.0.1", "10.90.0.2"} {
		if _, err := c.addr(pool, replay, replay == "10.90.0.1"); err != nil {
			t.Fatalf("a new leader asking for %s again: %v", replay, err)
		}
	}

	r, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.90.0.0/24"})
	if err != nil || r.PoolID != "ovnswarm/10.90.0.0/24" {
		t.Fatalf("a node's pool %+v %v", r, err)
	}
	view := r.PoolID
	if _, err := c.addr(view, "10.90.0.1", true); err != nil {
		t.Fatalf("a node's gateway: %v", err)
	}
	if got := c.mustAddr(view, "10.90.0.2"); got != task {
		t.Fatalf("a node's task address %s, want %s", got, task)
	}
	_, err = c.addr(view, "", false)
	usererrtest.Check(t, err, "10.90.0.0/24")

	c.release(view, "10.90.0.2")
	if err := m.ReleasePool(ctx, &ipam.ReleasePoolRequest{PoolID: view}); err != nil {
		t.Fatal(err)
	}
	claimed, _ := s.Claimed(ctx)
	row := store.RowName(GlobalSpace, pfx("10.90.0.0/24"))
	if !slices.Contains(claimed[row], addr("10.90.0.2")) {
		t.Fatal("a node's release freed the task's address the swarm still holds")
	}
	c.release(pool, "10.90.0.2")
	if err := m.ReleasePool(ctx, &ipam.ReleasePoolRequest{PoolID: pool}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.pools[row]; ok {
		t.Fatal("the manager's release left the pool")
	}
}

// A replay must ask for what the pool is; a pool of another range under
// the same subnet is refused, naming both.
func TestSwarmPoolRangeMismatch(t *testing.T) {
	m := NewManager(newFakeStore(), testConfig(newClock()))
	ctx := context.Background()
	req := &ipam.RequestPoolRequest{AddressSpace: GlobalSpace, Pool: "10.91.0.0/24", SubPool: "10.91.0.128/25"}
	if _, err := m.RequestPool(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.SubPool = ""
	_, err := m.RequestPool(ctx, req)
	usererrtest.Check(t, err, "10.91.0.128/25")
}

// Without --scope swarm a local request never turns into a view.
func TestLocalPoolBesideSwarmPool(t *testing.T) {
	m := NewManager(newFakeStore(), testConfig(newClock()))
	ctx := context.Background()
	if _, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: GlobalSpace, Pool: "10.92.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	r, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.92.0.0/24"})
	if err != nil || r.PoolID != "ovnlocal/10.92.0.0/24" {
		t.Fatalf("%+v %v", r, err)
	}
}
