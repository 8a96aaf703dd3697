package ipam

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/ipam/store"
)

func TestReleaseOrphans(t *testing.T) {
	s := newFakeStore()
	clock := newClock()
	m := NewManager(s, testConfig(clock))
	c := ipamClient{t, m}
	p := c.pool("10.0.0.0/24", "", false)
	other := c.pool("10.1.0.0/24", "", false)
	for _, a := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.1.0.9"} {
		if strings.HasPrefix(a, "10.1.") {
			c.mustAddr(other, a)
		} else {
			c.mustAddr(p, a)
		}
	}
	inUse := map[string]map[netip.Addr]bool{p: {addr("10.0.0.1"): true, addr("10.0.0.2"): true}}
	ctx := context.Background()
	if got, err := m.ReleaseOrphans(ctx, inUse); err != nil || len(got) != 0 {
		t.Fatalf("first pass released %v %v", got, err)
	}
	clock.advance(time.Minute)
	got, err := m.ReleaseOrphans(ctx, inUse)
	if err != nil || strings.Join(got, " ") != "10.0.0.3" {
		t.Fatalf("second pass released %v %v", got, err)
	}
	// The pool of a network this host did not create is left alone.
	if a, _ := c.addr(other, "10.1.0.9", false); a != "" {
		t.Fatal("10.1.0.9 was released")
	}
	if a := c.mustAddr(p, "10.0.0.3"); a != "10.0.0.3/24" {
		t.Fatalf("orphan not free again: %s", a)
	}
}

// Orphan claims are judged by the pool's identity: a pool of the other
// address space with the same subnet as one of this host's networks keeps
// its live claims.
func TestReleaseOrphansKeysByPoolID(t *testing.T) {
	s := newFakeStore()
	clock := newClock()
	m := NewManager(s, testConfig(clock))
	c := ipamClient{t, m}
	mine := c.pool("10.0.0.0/24", "", false)
	r, err := m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: GlobalSpace, Pool: "10.0.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	theirs := r.PoolID
	c.mustAddr(mine, "10.0.0.7")
	c.mustAddr(theirs, "10.0.0.8")
	inUse := map[string]map[netip.Addr]bool{mine: {}}
	ctx := context.Background()
	m.ReleaseOrphans(ctx, inUse)
	clock.advance(time.Minute)
	got, err := m.ReleaseOrphans(ctx, inUse)
	if err != nil || strings.Join(got, " ") != "10.0.0.7" {
		t.Fatalf("released %v, %v; want only this host's pool's orphan", got, err)
	}
	claimed, _ := s.Claimed(ctx)
	if !slices.Contains(claimed[store.RowName(GlobalSpace, pfx("10.0.0.0/24"))], addr("10.0.0.8")) {
		t.Fatal("a live claim of the other space's pool with the same subnet was released")
	}
}

// A pool this host made for a network Docker removed while the plugin was
// stopped is released once Docker's list has lacked its subnet for the
// grace period; pools of other hosts, and pools a network still uses, stay.
func TestReleaseForgottenPools(t *testing.T) {
	s := newFakeStore()
	clock := newClock()
	m := NewManager(s, testConfig(clock))
	c := ipamClient{t, m}
	gone := c.pool("10.240.0.0/24", "", false)
	kept := c.pool("10.241.0.0/24", "", false)
	s.pools[store.RowName(LocalSpace, pfx("10.242.0.0/24"))] = store.Pool{Name: store.RowName(LocalSpace, pfx("10.242.0.0/24")),
		Space: LocalSpace, Subnet: pfx("10.242.0.0/24"), Chassis: "host2"}
	nets := []dockerapi.Network{
		{ID: "a", IPAMDriver: "openvswitch", Subnets: []netip.Prefix{pfx("10.241.0.0/24")}},
		// Docker's own IPAM with our subnet proves nothing about our pool.
		{ID: "b", IPAMDriver: "default", Subnets: []netip.Prefix{pfx("10.240.0.0/24")}},
	}
	ctx := context.Background()
	if got, err := m.ReleaseForgottenPools(ctx, nets); err != nil || len(got) != 0 {
		t.Fatalf("first pass released %v, %v", got, err)
	}
	clock.advance(time.Minute)
	got, err := m.ReleaseForgottenPools(ctx, nets)
	if err != nil || strings.Join(got, " ") != gone {
		t.Fatalf("released %v, %v; want %s", got, err, gone)
	}
	if len(s.pools) != 2 {
		t.Fatalf("pools left: %v", s.pools)
	}
	if c.pool("10.240.0.0/24", "", false) != gone {
		t.Fatal("the released subnet cannot be allocated again")
	}
	_ = kept
}

func TestPoolsRecordTheirChassis(t *testing.T) {
	c, s := newClient(t)
	c.pool("10.9.0.0/24", "", false)
	for _, p := range s.pools {
		if p.Chassis != "host1" {
			t.Fatalf("pool %+v does not record its chassis", p)
		}
	}
	m := NewManager(s, Config{Log: quiet(), SystemID: func(context.Context) (string, error) {
		return "", errors.New("no system-id")
	}})
	_, err := m.RequestPool(context.Background(), &ipam.RequestPoolRequest{Pool: "10.10.0.0/24"})
	if err == nil {
		t.Fatal("a pool was made without knowing whose it is")
	}
}

// Every host of an OVN network gets the same pool and the same gateway;
// the pool goes with the last host's release, and a host asking for
// another subnet is told which one the network has.
func TestSharedPools(t *testing.T) {
	s := newFakeStore()
	host := func(name string) ipamClient {
		cfg := testConfig(newClock())
		cfg.SystemID = func(context.Context) (string, error) { return name, nil }
		return ipamClient{t, NewManager(s, cfg)}
	}
	h1, h2 := host("host1"), host("host2")
	ctx := context.Background()
	req := func(c ipamClient, subnet string) (*ipam.RequestPoolResponse, error) {
		return c.m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: subnet,
			Options: map[string]string{OptNetwork: "prod"}})
	}
	p1, err := req(h1, "10.70.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := req(h2, "")
	if err != nil || p2.PoolID != p1.PoolID {
		t.Fatalf("second host: %+v %v; want %s", p2, err, p1.PoolID)
	}
	if _, err := req(h2, "10.71.0.0/24"); err == nil || !strings.Contains(err.Error(), "uses pool 10.70.0.0/24, not 10.71.0.0/24") {
		t.Fatalf("another subnet: %v", err)
	}
	gw := func(c ipamClient) string {
		r, err := c.m.RequestAddress(ctx, &ipam.RequestAddressRequest{PoolID: p1.PoolID,
			Options: map[string]string{"RequestAddressType": "com.docker.network.gateway"}})
		if err != nil {
			t.Fatal(err)
		}
		return r.Address
	}
	if g1, g2 := gw(h1), gw(h2); g1 != "10.70.0.1/24" || g2 != g1 {
		t.Fatalf("gateways %s and %s; want 10.70.0.1/24 for both", g1, g2)
	}
	a1, a2 := h1.mustAddr(p1.PoolID, ""), h2.mustAddr(p1.PoolID, "")
	if a1 == a2 {
		t.Fatalf("both hosts got %s", a1)
	}
	// Docker releases the gateway at network rm: a shared one stays.
	if err := h1.m.ReleaseAddress(ctx, &ipam.ReleaseAddressRequest{PoolID: p1.PoolID, Address: "10.70.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := h1.m.ReleasePool(ctx, &ipam.ReleasePoolRequest{PoolID: p1.PoolID}); err != nil {
		t.Fatal(err)
	}
	if len(s.pools) != 1 || gw(h2) != "10.70.0.1/24" {
		t.Fatalf("the pool or its gateway went with the first host: %v", s.pools)
	}
	if err := h2.m.ReleasePool(ctx, &ipam.ReleasePoolRequest{PoolID: p1.PoolID}); err != nil {
		t.Fatal(err)
	}
	if len(s.pools) != 0 || len(s.blocks) != 0 {
		t.Fatalf("left after the last host: %v %v", s.pools, s.blocks)
	}
}
