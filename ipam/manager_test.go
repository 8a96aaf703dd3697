package ipam

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"
	"github.com/sirupsen/logrus"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// ipamClient runs Docker's calls against a manager and fails the test on error.
type ipamClient struct {
	t testing.TB
	m *Manager
}

func (c ipamClient) pool(subnet, rng string, v6 bool) string {
	c.t.Helper()
	r, err := c.m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: subnet, SubPool: rng, V6: v6})
	if err != nil {
		c.t.Fatal(err)
	}
	return r.PoolID
}

func (c ipamClient) addr(pool, want string, gateway bool) (string, error) {
	opts := map[string]string{}
	if gateway {
		opts["RequestAddressType"] = "com.docker.network.gateway"
	}
	r, err := c.m.RequestAddress(context.Background(), &ipam.RequestAddressRequest{PoolID: pool, Address: want, Options: opts})
	if err != nil {
		return "", err
	}
	return r.Address, nil
}

func (c ipamClient) mustAddr(pool, want string) string {
	c.t.Helper()
	a, err := c.addr(pool, want, false)
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

func (c ipamClient) release(pool, a string) {
	c.t.Helper()
	if err := c.m.ReleaseAddress(context.Background(), &ipam.ReleaseAddressRequest{PoolID: pool, Address: a}); err != nil {
		c.t.Fatal(err)
	}
}

// testConfig is a manager's config on chassis host1 with a clock tests
// move by hand.
func testConfig(clock *fakeClock) Config {
	return Config{Log: quiet(), Now: clock.Now,
		SystemID: func(context.Context) (string, error) { return "host1", nil }}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newClient(t *testing.T) (ipamClient, *fakeStore) {
	s := newFakeStore()
	return ipamClient{t, NewManager(s, testConfig(newClock()))}, s
}

// Requests the current engine sent: pools of both families, IPv6 only
// without a subnet, addresses carrying the endpoint's name.
func TestRecordedRequestsOfTheCurrentEngine(t *testing.T) {
	c, _ := newClient(t)
	load := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "testdata", "moby-v2.0.0-beta.24", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	ids := map[string]string{}
	for _, name := range []string{"IpamDriver.RequestPool.subpool.json", "IpamDriver.RequestPool.v6.json", "IpamDriver.RequestPool.v6only-default.json"} {
		var req ipam.RequestPoolRequest
		load(name, &req)
		resp, err := c.m.RequestPool(ctx, &req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids[name] = resp.PoolID
	}
	if ids["IpamDriver.RequestPool.v6only-default.json"] != "ovnlocal/fd6f:766e:6400::/64" {
		t.Fatalf("pools %v", ids)
	}
	// In the engine's order: the dynamic address comes after the gateway.
	for _, tc := range []struct{ name, want string }{
		{"IpamDriver.RequestAddress.gateway-given.json", "10.77.0.1/24"},
		{"IpamDriver.RequestAddress.aux.json", "10.77.0.5/24"},
		{"IpamDriver.RequestAddress.static-with-name.json", "10.77.0.200/24"},
		{"IpamDriver.RequestAddress.gateway-any.json", "fd00:77::1/64"},
		{"IpamDriver.RequestAddress.any-with-name.json", "fd00:77::2/64"},
	} {
		name, want := tc.name, tc.want
		var req ipam.RequestAddressRequest
		load(name, &req)
		r, err := c.m.RequestAddress(ctx, &req)
		if err != nil || r.Address != want {
			t.Errorf("%s: %+v %v; want %s", name, r, err, want)
		}
	}
}

func TestRecordedRequests(t *testing.T) {
	c, _ := newClient(t)
	load := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "docker-20.10", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var pool ipam.RequestPoolRequest
	load("IpamDriver.RequestPool.plain.json", &pool)
	resp, err := c.m.RequestPool(context.Background(), &pool)
	if err != nil || resp.PoolID != "ovnlocal/10.77.0.0/24" || resp.Pool != "10.77.0.0/24" {
		t.Fatalf("RequestPool %+v %v", resp, err)
	}
	want := map[string]string{
		"IpamDriver.RequestAddress.gateway-given.json":   "10.77.0.1/24",
		"IpamDriver.RequestAddress.aux.json":             "10.77.0.5/24",
		"IpamDriver.RequestAddress.static-with-mac.json": "10.77.0.50/24",
		"IpamDriver.RequestAddress.any-with-mac.json":    "10.77.0.2/24",
	}
	for _, name := range []string{"IpamDriver.RequestAddress.gateway-given.json", "IpamDriver.RequestAddress.aux.json",
		"IpamDriver.RequestAddress.static-with-mac.json", "IpamDriver.RequestAddress.any-with-mac.json"} {
		var req ipam.RequestAddressRequest
		load(name, &req)
		req.PoolID = resp.PoolID
		r, err := c.m.RequestAddress(context.Background(), &req)
		if err != nil || r.Address != want[name] {
			t.Fatalf("%s: %+v %v", name, r, err)
		}
	}
	var rel ipam.ReleaseAddressRequest
	load("IpamDriver.ReleaseAddress.json", &rel)
	rel.PoolID = resp.PoolID
	for i := 0; i < 2; i++ {
		if err := c.m.ReleaseAddress(context.Background(), &rel); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := c.m.ReleasePool(context.Background(), &ipam.ReleasePoolRequest{PoolID: resp.PoolID}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAddresses(t *testing.T) {
	c, _ := newClient(t)
	p := c.pool("10.0.0.0/29", "", false)
	if a, err := c.addr(p, "", true); err != nil || a != "10.0.0.1/29" {
		t.Fatalf("gateway %s %v", a, err)
	}
	if a := c.mustAddr(p, ""); a != "10.0.0.2/29" {
		t.Fatalf("first %s", a)
	}
	if a := c.mustAddr(p, "10.0.0.6"); a != "10.0.0.6/29" {
		t.Fatalf("explicit %s", a)
	}
	for _, tc := range []struct{ addr, want string }{
		{"10.0.0.6", "address 10.0.0.6 is already in use in pool 10.0.0.0/29"},
		{"10.0.1.6", "address 10.0.1.6 is outside pool 10.0.0.0/29"},
		{"10.0.0.7", "reserved"},
		{"10.0.0.0", "reserved"},
		{"banana", "not an IP address"},
	} {
		if _, err := c.addr(p, tc.addr, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.addr, err, tc.want)
		}
	}
	c.release(p, "10.0.0.2")
	// After .2 come .3, .4, .5; the released .2 is reused only when nothing
	// else is left.
	for _, want := range []string{"10.0.0.3/29", "10.0.0.4/29", "10.0.0.5/29", "10.0.0.2/29"} {
		if a := c.mustAddr(p, ""); a != want {
			t.Fatalf("got %s, want %s", a, want)
		}
	}
	if _, err := c.addr(p, "", false); err == nil || !strings.HasPrefix(err.Error(), "pool 10.0.0.0/29 has no free addresses;") {
		t.Fatalf("exhausted pool: %v", err)
	}
	c.release(p, "10.0.0.4/29") // Docker sometimes sends the prefix length too
	if a := c.mustAddr(p, ""); a != "10.0.0.4/29" {
		t.Fatalf("after release %s", a)
	}
}

func TestGatewayTakenFallsBack(t *testing.T) {
	c, _ := newClient(t)
	p := c.pool("10.0.0.0/24", "", false)
	c.mustAddr(p, "10.0.0.1")
	if a, err := c.addr(p, "", true); err != nil || a != "10.0.0.2/24" {
		t.Fatalf("gateway %s %v", a, err)
	}
}

func TestRange(t *testing.T) {
	c, _ := newClient(t)
	p := c.pool("10.77.0.0/24", "10.77.0.252/30", false)
	if a, _ := c.addr(p, "", true); a != "10.77.0.1/24" {
		t.Fatalf("gateway in a ranged pool: %s", a)
	}
	got := []string{c.mustAddr(p, ""), c.mustAddr(p, ""), c.mustAddr(p, "")}
	if strings.Join(got, " ") != "10.77.0.252/24 10.77.0.253/24 10.77.0.254/24" {
		t.Fatalf("range addresses %v", got)
	}
	if _, err := c.addr(p, "", false); err == nil || !strings.HasPrefix(err.Error(), "pool 10.77.0.0/24 has no free addresses in range 10.77.0.252/30;") {
		t.Fatalf("exhausted range: %v", err)
	}
	if a := c.mustAddr(p, "10.77.0.9"); a != "10.77.0.9/24" {
		t.Fatalf("explicit outside the range but inside the pool: %s", a)
	}
}

func TestPools(t *testing.T) {
	c, s := newClient(t)
	ctx := context.Background()
	c.pool("10.1.0.0/16", "", false)
	for _, tc := range []struct {
		req  ipam.RequestPoolRequest
		want string
	}{
		{ipam.RequestPoolRequest{Pool: "10.1.0.0/16"}, "pool 10.1.0.0/16 overlaps pool 10.1.0.0/16"},
		{ipam.RequestPoolRequest{Pool: "10.1.5.0/24"}, "pool 10.1.5.0/24 overlaps pool 10.1.0.0/16"},
		{ipam.RequestPoolRequest{Pool: "10.0.0.0/8"}, "pool 10.0.0.0/8 overlaps pool 10.1.0.0/16"},
		{ipam.RequestPoolRequest{Pool: "10.2.0.0/33"}, `"10.2.0.0/33" is not a valid IPv4 subnet`},
		{ipam.RequestPoolRequest{Pool: "fd00::/64"}, "not a valid IPv4 subnet"},
		{ipam.RequestPoolRequest{Pool: "10.3.0.0/16", SubPool: "10.4.0.0/24"}, "--ip-range 10.4.0.0/24"},
		{ipam.RequestPoolRequest{SubPool: "10.4.0.0/24"}, "without --subnet"},
		{ipam.RequestPoolRequest{Pool: "10.3.0.0/16", Options: map[string]string{"q": "r"}}, `unknown IPAM option "q"`},
		{ipam.RequestPoolRequest{AddressSpace: "elsewhere", Pool: "10.3.0.0/16"}, `unknown address space "elsewhere"`},
	} {
		if tc.req.AddressSpace == "" {
			tc.req.AddressSpace = LocalSpace
		}
		if _, err := c.m.RequestPool(ctx, &tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.req, err, tc.want)
		}
	}
	// Another address space may overlap.
	if _, err := c.m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: GlobalSpace, Pool: "10.1.0.0/16"}); err != nil {
		t.Fatalf("same subnet in the global space: %v", err)
	}
	// Auto pools: distinct while in use, clear of switches' subnets.
	s.switches = []netip.Prefix{pfx("10.128.1.0/24")}
	auto := []string{c.pool("", "", false), c.pool("", "", false)}
	if auto[0] != "ovnlocal/10.128.0.0/24" || auto[1] != "ovnlocal/10.128.2.0/24" {
		t.Fatalf("auto pools %v", auto)
	}
	if err := c.m.ReleasePool(ctx, &ipam.ReleasePoolRequest{PoolID: auto[0]}); err != nil {
		t.Fatal(err)
	}
	if p := c.pool("", "", false); p != auto[0] {
		t.Fatalf("released auto pool not reused: %s", p)
	}
	if p := c.pool("", "", true); p != "ovnlocal/fd6f:766e:6400::/64" {
		t.Fatalf("auto IPv6 pool %s", p)
	}
}

func TestUnknownPool(t *testing.T) {
	c, _ := newClient(t)
	_, err := c.addr("ovnlocal/10.9.0.0/24", "", false)
	if !errors.Is(err, ErrUnknownPool) {
		t.Fatalf("RequestAddress on unknown pool: %v", err)
	}
	c.release("ovnlocal/10.9.0.0/24", "10.9.0.5")
	for _, bad := range []string{"", "10.9.0.0/24", "other/10.9.0.0/24", "ovnlocal/10.9.0.1/24"} {
		if _, err := c.addr(bad, "", false); err == nil || !strings.Contains(err.Error(), "is not a pool ID") {
			t.Errorf("PoolID %q: %v", bad, err)
		}
	}
}

func TestIPv6PoolsAreNotBitmaps(t *testing.T) {
	c, s := newClient(t)
	p := c.pool("fd00:1::/48", "", true)
	if a, _ := c.addr(p, "", true); a != "fd00:1::1/48" {
		t.Fatalf("v6 gateway %s", a)
	}
	if a := c.mustAddr(p, "fd00:1:0:ffff:ffff:ffff:ffff:fffe"); a != "fd00:1:0:ffff:ffff:ffff:ffff:fffe/48" {
		t.Fatalf("far explicit %s", a)
	}
	if a := c.mustAddr(p, ""); a != "fd00:1::2/48" {
		t.Fatalf("dynamic %s", a)
	}
	if n := len(s.blocks); n != 2 {
		t.Fatalf("%d blocks for 3 addresses", n)
	}
}
