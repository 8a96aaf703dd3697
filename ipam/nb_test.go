package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// daemon is one manager with its own NB connection, as one ovn-docker
// process has.
func daemon(t testing.TB, srv *ovsdbtest.Server) ipamClient {
	t.Helper()
	c, err := nb.New(conn.Config{Endpoints: []string{srv.Endpoint()}, LeaderOnly: true, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); c.Close() })
	c.Run(ctx)
	return ipamClient{t, NewManager(store.New(c), testConfig(newClock()))}
}

// claimed lists every address claimed in NB for a pool, as ovn-nbctl sees
// it: keys of its blocks' external_ids, and none in their addresses.
func claimed(t *testing.T, srv *ovsdbtest.Server, poolRow string) []string {
	where := []string{`external_ids:"docker:ipam-pool"=` + poolRow, `external_ids:"docker:ipam-kind"=block`}
	if addrs := srv.Nbctl(append([]string{"--bare", "--columns=addresses", "find", "Address_Set"}, where...)...); addrs != "" {
		t.Fatalf("claims in the addresses of pool %s's blocks, which the Southbound database copies: %s", poolRow, addrs)
	}
	var out []string
	for _, kv := range strings.Fields(srv.Nbctl(append([]string{"--bare", "--columns=external_ids", "find", "Address_Set"}, where...)...)) {
		if a, ok := strings.CutPrefix(kv, "docker:ipam-claim:"); ok {
			out = append(out, strings.TrimSuffix(a, "="))
		}
	}
	return out
}

func TestNBPoolsAndClaims(t *testing.T) {
	srv := ovsdbtest.Start(t)
	c := daemon(t, srv)
	p := c.pool("10.0.0.0/24", "", false)
	if a, err := c.addr(p, "", true); err != nil || a != "10.0.0.1/24" {
		t.Fatalf("gateway %s %v", a, err)
	}
	c.mustAddr(p, "")
	c.mustAddr(p, "10.0.0.200")
	row := store.RowName(LocalSpace, pfx("10.0.0.0/24"))
	if got := strings.Join(claimed(t, srv, row), " "); got != "10.0.0.1 10.0.0.2 10.0.0.200" {
		t.Fatalf("NB claims %q", got)
	}
	if got := srv.Nbctl("get", "Address_Set", row, `external_ids:"docker:ipam-last"`); got != `"10.0.0.2"` {
		t.Fatalf("cursor %s", got)
	}
	if _, err := c.addr(p, "10.0.0.200", false); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("double claim: %v", err)
	}
	if _, err := c.m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.0.0.128/25"}); err == nil ||
		!strings.Contains(err.Error(), "overlaps pool 10.0.0.0/24") {
		t.Fatalf("overlap: %v", err)
	}
	// Auto pools avoid subnets recorded on any switch, ours or OVN's own.
	srv.Nbctl("ls-add", "theirs", "--", "set", "Logical_Switch", "theirs", "other_config:subnet=10.128.0.0/24")
	if auto := c.pool("", "", false); auto != "ovnlocal/10.128.1.0/24" {
		t.Fatalf("auto pool %s", auto)
	}
	if err := c.m.ReleasePool(context.Background(), &ipam.ReleasePoolRequest{PoolID: p}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Nbctl("--bare", "--columns=name", "find", "Address_Set", `external_ids:"docker:ipam-pool"=`+row); got != "" {
		t.Fatalf("rows left after ReleasePool: %q", got)
	}
	// The subnet can be allocated again at once.
	if again := c.pool("10.0.0.0/24", "", false); again != p {
		t.Fatalf("re-created pool %s", again)
	}
}

// Two daemons, each answering hundreds of concurrent requests on one pool,
// never hand out one address twice.
func TestTwoDaemonsNeverDuplicate(t *testing.T) {
	srv := ovsdbtest.Start(t)
	a, b := daemon(t, srv), daemon(t, srv)
	p := a.pool("10.20.0.0/22", "", false)
	const perDaemon = 300
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for _, d := range []struct {
		name string
		c    ipamClient
	}{{"a", a}, {"b", b}} {
		for i := 0; i < perDaemon; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				addr, err := d.c.addr(p, "", false)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if other, dup := got[addr]; dup {
					t.Errorf("%s handed out by %s and %s", addr, other, d.name)
				}
				got[addr] = d.name
			}()
		}
	}
	wg.Wait()
	if len(got) != 2*perDaemon {
		t.Fatalf("%d distinct addresses for %d requests", len(got), 2*perDaemon)
	}
	inNB := claimed(t, srv, store.RowName(LocalSpace, pfx("10.20.0.0/22")))
	if len(inNB) != 2*perDaemon {
		t.Fatalf("NB holds %d claims, want %d", len(inNB), 2*perDaemon)
	}
	for _, s := range inNB {
		if _, ok := got[netip.PrefixFrom(netip.MustParseAddr(s), 22).String()]; !ok {
			t.Fatalf("NB claim %s was handed to nobody", s)
		}
	}
}

// Two daemons creating pools at once from the default range get distinct
// pools, and explicit overlapping requests: exactly one wins.
func TestTwoDaemonsRacePools(t *testing.T) {
	srv := ovsdbtest.Start(t)
	a, b := daemon(t, srv), daemon(t, srv)
	var mu sync.Mutex
	pools := map[string]bool{}
	wins := 0
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		for _, c := range []ipamClient{a, b} {
			wg.Add(2)
			go func() {
				defer wg.Done()
				r, err := c.m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: LocalSpace})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if pools[r.Pool] {
					t.Errorf("pool %s handed out twice", r.Pool)
				}
				pools[r.Pool] = true
			}()
			go func() {
				defer wg.Done()
				_, err := c.m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: fmt.Sprintf("10.50.%d.0/24", i)})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else if !strings.Contains(err.Error(), "overlaps") && !strings.Contains(err.Error(), "already allocated") {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if len(pools) != 20 || wins != 10 {
		t.Fatalf("%d auto pools (want 20), %d explicit wins (want 10)", len(pools), wins)
	}
}

// A daemon that dies loses nothing: a new one sees every claim, reuses
// released addresses, and continues after the last one handed out.
func TestRestartKeepsClaims(t *testing.T) {
	srv := ovsdbtest.Start(t)
	first := daemon(t, srv)
	p := first.pool("10.30.0.0/24", "", false)
	for i := 0; i < 5; i++ {
		first.mustAddr(p, "") // .1 to .5
	}
	first.release(p, "10.30.0.2")
	second := daemon(t, srv)
	if a := second.mustAddr(p, ""); a != "10.30.0.6/24" {
		t.Fatalf("after restart: %s, want the address after the last handed out", a)
	}
	if _, err := second.addr(p, "10.30.0.3", false); err == nil {
		t.Fatal("an address claimed before the restart was granted again")
	}
	if a := second.mustAddr(p, "10.30.0.2"); a != "10.30.0.2/24" {
		t.Fatalf("released address not free after restart: %s", a)
	}
}

// Claims keep working across an NB restart (libovsdb reconnects).
func TestClaimAfterNBRestart(t *testing.T) {
	srv := ovsdbtest.Start(t)
	c := daemon(t, srv)
	p := c.pool("10.40.0.0/24", "", false)
	c.mustAddr(p, "")
	srv.Stop()
	srv.Start()
	// The call itself waits, within its context, for the client to be
	// back: no polling.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.m.RequestAddress(ctx, &ipam.RequestAddressRequest{PoolID: p})
	if err != nil || r.Address != "10.40.0.2/24" {
		t.Fatalf("after NB restart: %+v %v", r, err)
	}
}

// The periodic scans only read until they have something to release: on
// an empty NB and on one whose claims are all in use, nothing is written.
func TestScansWriteNothing(t *testing.T) {
	srv := ovsdbtest.Start(t)
	c := daemon(t, srv)
	ctx := context.Background()
	before := srv.NBWrites()
	if _, err := c.m.ReleaseOrphans(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.m.ReleaseForgottenPools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := srv.NBWrites(); after != before {
		t.Fatalf("scans of an empty NB wrote %d bytes", after-before)
	}
	p := c.pool("10.50.0.0/24", "", false)
	a := c.mustAddr(p, "")
	before = srv.NBWrites()
	inUse := map[string]map[netip.Addr]bool{p: {netip.MustParsePrefix(a).Addr(): true}}
	for i := 0; i < 3; i++ {
		if _, err := c.m.ReleaseOrphans(ctx, inUse); err != nil {
			t.Fatal(err)
		}
	}
	if after := srv.NBWrites(); after != before {
		t.Fatalf("scans with nothing to release wrote %d bytes", after-before)
	}
}

// Two daemons on one NB share an OVN network's pool: one row, one gateway,
// distinct addresses, and the pool goes with the last release.
func TestSharedPoolOnNB(t *testing.T) {
	srv := ovsdbtest.Start(t)
	hosts := []ipamClient{daemonOn(t, srv, "host1"), daemonOn(t, srv, "host2")}
	ctx := context.Background()
	var ids []string
	for _, c := range hosts {
		r, err := c.m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: LocalSpace,
			Options: map[string]string{OptNetwork: "prod"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.PoolID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("pools %v", ids)
	}
	var gws []string
	for _, c := range hosts {
		r, err := c.m.RequestAddress(ctx, &ipam.RequestAddressRequest{PoolID: ids[0],
			Options: map[string]string{"RequestAddressType": "com.docker.network.gateway"}})
		if err != nil {
			t.Fatal(err)
		}
		gws = append(gws, r.Address)
	}
	if gws[0] != gws[1] {
		t.Fatalf("gateways %v", gws)
	}
	if hosts[0].mustAddr(ids[0], "") == hosts[1].mustAddr(ids[0], "") {
		t.Fatal("one address for two hosts")
	}
	for i, c := range hosts {
		if err := c.m.ReleasePool(ctx, &ipam.ReleasePoolRequest{PoolID: ids[0]}); err != nil {
			t.Fatal(err)
		}
		rows := srv.Nbctl("--bare", "--columns=name", "find", "Address_Set", `external_ids:"docker:ipam-network"=prod`)
		if (i == 0) != (rows != "") {
			t.Fatalf("after %d releases the pool rows are %q", i+1, rows)
		}
	}
}

// daemonOn is a daemon on chassis name.
func daemonOn(t *testing.T, srv *ovsdbtest.Server, name string) ipamClient {
	t.Helper()
	c := daemon(t, srv)
	c.m.cfg.SystemID = func(context.Context) (string, error) { return name, nil }
	return c
}
