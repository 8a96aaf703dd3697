package ipam

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// Every error the IPAM driver itself writes, triggered through Docker's
// calls and held to docs/errors.md by the shared checker.

func TestRequestPoolErrorsReadOnce(t *testing.T) {
	c, _ := newClient(t)
	c.pool("10.1.0.0/16", "", false)
	for _, tc := range []struct {
		name   string
		req    ipam.RequestPoolRequest
		object string
		kind   error
	}{
		{"overlap", ipam.RequestPoolRequest{Pool: "10.1.5.0/24"}, "10.1.5.0/24", ErrOverlap},
		{"same pool", ipam.RequestPoolRequest{Pool: "10.1.0.0/16"}, "10.1.0.0/16", ErrOverlap},
		{"bad subnet", ipam.RequestPoolRequest{Pool: "10.2.0.0/33"}, `"10.2.0.0/33"`, nil},
		{"v6 subnet in v4", ipam.RequestPoolRequest{Pool: "fd00::/64"}, `"fd00::/64"`, nil},
		{"bad range", ipam.RequestPoolRequest{Pool: "10.3.0.0/16", SubPool: "banana"}, `"banana"`, nil},
		{"range without subnet", ipam.RequestPoolRequest{SubPool: "10.4.0.0/24"}, "10.4.0.0/24", nil},
		{"range outside", ipam.RequestPoolRequest{Pool: "10.3.0.0/16", SubPool: "10.4.0.0/24"}, "10.4.0.0/24", nil},
		{"range of nothing", ipam.RequestPoolRequest{Pool: "10.5.0.0/24", SubPool: "10.5.0.255/32"}, "10.5.0.255/32", nil},
		{"option", ipam.RequestPoolRequest{Pool: "10.3.0.0/16", Options: map[string]string{"q": "r"}}, `"q"`, nil},
		{"space", ipam.RequestPoolRequest{AddressSpace: "elsewhere", Pool: "10.3.0.0/16"}, `"elsewhere"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.AddressSpace == "" {
				tc.req.AddressSpace = LocalSpace
			}
			_, err := c.m.RequestPool(context.Background(), &tc.req)
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("not %v: %v", tc.kind, err)
			}
			usererrtest.Check(t, err, tc.object)
		})
	}
}

// hidingStore hides its pools from snapshots, so a creation reaches the
// store's own refusal of a name taken (a retried RequestPool on NB).
type hidingStore struct{ *fakeStore }

func (h hidingStore) Snapshot(context.Context) (*store.Snapshot, error) {
	return &store.Snapshot{Generation: "0"}, nil
}

func (h hidingStore) CreatePool(_ context.Context, p store.Pool, _ string) error {
	if _, ok := h.pools[p.Name]; ok {
		return ovs.ErrConflict
	}
	h.pools[p.Name] = p
	return nil
}

// staleStore: another daemon creates a pool every time this one tries.
type staleStore struct{ *fakeStore }

func (staleStore) CreatePool(context.Context, store.Pool, string) error { return ovs.ErrStale }

func TestRequestPoolStoreErrorsReadOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("already allocated", func(t *testing.T) {
		m := NewManager(hidingStore{newFakeStore()}, testConfig(newClock()))
		req := &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.6.0.0/24"}
		if _, err := m.RequestPool(ctx, req); err != nil {
			t.Fatal(err)
		}
		_, err := m.RequestPool(ctx, req)
		usererrtest.Check(t, err, "10.6.0.0/24")
	})
	t.Run("pools kept changing", func(t *testing.T) {
		m := NewManager(staleStore{newFakeStore()}, testConfig(newClock()))
		_, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: GlobalSpace, Pool: "10.6.0.0/24"})
		usererrtest.Check(t, err, GlobalSpace)
	})
	t.Run("default range full", func(t *testing.T) {
		cfg := testConfig(newClock())
		cfg.IPv4Default = DefaultPools{Base: pfx("10.200.0.0/23"), Size: 24}
		c := ipamClient{t, NewManager(newFakeStore(), cfg)}
		c.pool("", "", false)
		c.pool("", "", false)
		_, err := c.m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: LocalSpace})
		if !errors.Is(err, ErrNoFreePool) {
			t.Errorf("not ErrNoFreePool: %v", err)
		}
		usererrtest.Check(t, err, "10.200.0.0/23")
	})
	t.Run("default pools do not fit", func(t *testing.T) {
		cfg := testConfig(newClock())
		cfg.IPv4Default = DefaultPools{Base: pfx("10.200.0.0/24"), Size: 16}
		_, err := NewManager(newFakeStore(), cfg).RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: LocalSpace})
		usererrtest.Check(t, err, "10.200.0.0/24")
	})
	t.Run("no chassis", func(t *testing.T) {
		_, err := NewManager(newFakeStore(), Config{Log: quiet()}).RequestPool(ctx,
			&ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.7.0.0/24"})
		usererrtest.Check(t, err, "chassis name")
	})
}

func TestAddressErrorsReadOnce(t *testing.T) {
	c, _ := newClient(t)
	p := c.pool("10.0.0.0/29", "", false)
	c.mustAddr(p, "10.0.0.6")
	for _, tc := range []struct {
		addr, object string
		kind         error
	}{
		{"10.0.0.6", "10.0.0.6", ErrAllocated},
		{"10.0.1.6", "10.0.1.6", ErrOutOfPool},
		{"10.0.0.7", "10.0.0.7", ErrOutOfPool},
		{"10.0.0.0", "10.0.0.0 ", ErrOutOfPool},
		{"banana", `"banana"`, nil},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			_, err := c.addr(p, tc.addr, false)
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("not %v: %v", tc.kind, err)
			}
			usererrtest.Check(t, err, tc.object)
		})
	}
	for range 5 {
		c.mustAddr(p, "")
	}
	t.Run("full", func(t *testing.T) {
		_, err := c.addr(p, "", false)
		if !errors.Is(err, ErrFull) {
			t.Errorf("not ErrFull: %v", err)
		}
		usererrtest.Check(t, err, "10.0.0.0/29")
	})
	t.Run("full range", func(t *testing.T) {
		r := c.pool("10.77.0.0/24", "10.77.0.252/30", false)
		for range 3 {
			c.mustAddr(r, "")
		}
		_, err := c.addr(r, "", false)
		usererrtest.Check(t, err, "10.77.0.252/30")
	})
	t.Run("bad pool ID", func(t *testing.T) {
		_, err := c.addr("10.9.0.0/24", "", false)
		usererrtest.Check(t, err, `"10.9.0.0/24"`)
		err = c.m.ReleasePool(context.Background(), &ipam.ReleasePoolRequest{PoolID: "other/10.9.0.0/24"})
		usererrtest.Check(t, err, `"other/10.9.0.0/24"`)
	})
	t.Run("unknown pool", func(t *testing.T) {
		_, err := c.addr("ovnlocal/10.9.0.0/24", "", false)
		if !errors.Is(err, ErrUnknownPool) {
			t.Errorf("not ErrUnknownPool: %v", err)
		}
		usererrtest.Check(t, err, "ovnlocal/10.9.0.0/24")
	})
	t.Run("release of no address", func(t *testing.T) {
		err := c.m.ReleaseAddress(context.Background(), &ipam.ReleaseAddressRequest{PoolID: p, Address: "banana"})
		usererrtest.Check(t, err, `"banana"`)
	})
}

// losingStore: other hosts claim every address first.
type losingStore struct{ *fakeStore }

func (losingStore) Claim(context.Context, string, string, netip.Addr, bool) error {
	return ovs.ErrTaken
}

// vanishingStore: the pool is released while a claim runs.
type vanishingStore struct{ *fakeStore }

func (vanishingStore) Claim(context.Context, string, string, netip.Addr, bool) error {
	return ovs.ErrNotFound
}

func TestClaimRaceErrorsReadOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*fakeStore) Store
	}{
		{"lost every claim", func(f *fakeStore) Store { return losingStore{f} }},
		{"pool released meanwhile", func(f *fakeStore) Store { return vanishingStore{f} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeStore()
			ipamClient{t, NewManager(f, testConfig(newClock()))}.pool("10.8.0.0/24", "", false)
			c := ipamClient{t, NewManager(tc.store(f), testConfig(newClock()))}
			_, err := c.addr("ovnlocal/10.8.0.0/24", "", false)
			usererrtest.Check(t, err, "10.8.0.0/24")
		})
	}
}

// Against a real NB: what two daemons' races and NB itself answer.
func TestNBErrorsReadOnce(t *testing.T) {
	srv := ovsdbtest.Start(t)
	c := daemon(t, srv)
	p := c.pool("10.0.0.0/24", "", false)
	c.mustAddr(p, "10.0.0.200")
	_, err := c.addr(p, "10.0.0.200", false)
	usererrtest.Check(t, err, "10.0.0.200")
	other := daemon(t, srv)
	_, err = other.m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.0.0.128/25"})
	usererrtest.Check(t, err, "10.0.0.128/25")
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.m.RequestAddress(ctx, &ipam.RequestAddressRequest{PoolID: p, Address: "10.0.0.201"})
	if !errors.Is(err, ovs.ErrUnavailable) {
		t.Errorf("not ErrUnavailable: %v", err)
	}
	usererrtest.Check(t, err, srv.Sock)
}
