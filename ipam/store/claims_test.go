package store_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// The first claim of a block creates it; what the claim also records (the
// cursor, a shared pool's gateway) must land with it, not before it. A
// gateway recorded without its claim was once handed to a container.
func TestFirstClaimOfABlockRecordsItsSideEffects(t *testing.T) {
	s := startServer(t)
	db := store.New(s.nb(t))
	ctx := testCtx(t)
	subnet := netip.MustParsePrefix("10.9.0.0/16")
	pool := store.Pool{Name: store.RowName("ovnshared", subnet), Space: "ovnshared", Subnet: subnet, Network: "blue"}
	if err := db.CreatePool(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	gw := netip.MustParseAddr("10.9.0.1")
	if got, err := db.ClaimGateway(ctx, pool.Name, "0", gw); err != nil || got != gw {
		t.Fatalf("first gateway claim: %v %v", got, err)
	}
	// A second host's claim of another address gets the first's gateway.
	if got, err := db.ClaimGateway(ctx, pool.Name, "0", netip.MustParseAddr("10.9.0.9")); err != nil || got != gw {
		t.Fatalf("second gateway claim: %v %v", got, err)
	}
	next := netip.MustParseAddr("10.9.1.7")
	if err := db.Claim(ctx, pool.Name, "1", next, true); err != nil {
		t.Fatalf("first claim of block 1: %v", err)
	}
	got, err := db.Pool(ctx, pool.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Gateway != gw || got.Last != next {
		t.Errorf("pool gateway %v last %v, want %v and %v", got.Gateway, got.Last, gw, next)
	}
	claimed, err := db.Claimed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := claimed[pool.Name]; !slices.Contains(c, gw) || !slices.Contains(c, next) {
		t.Errorf("claimed %v, want %v and %v", c, gw, next)
	}
}

// A claim's key set to another value by hand (or another tool) is not
// free: the insert would leave it alone, so the claim must fail, not pass.
func TestClaimKeyWithAnotherValueIsTaken(t *testing.T) {
	s, db, ctx, pool := withPool(t, "10.9.0.0/24")
	if err := db.Claim(ctx, pool.Name, "0", netip.MustParseAddr("10.9.0.2"), false); err != nil {
		t.Fatal(err)
	}
	s.nbctl("set", "Address_Set", pool.Name+"_0", `external_ids:"docker:ipam-claim:10.9.0.3"=someone`)
	err := db.Claim(ctx, pool.Name, "0", netip.MustParseAddr("10.9.0.3"), false)
	if !errors.Is(err, ovs.ErrTaken) {
		t.Fatalf("claim over a key holding another value: %v, want ovs.ErrTaken", err)
	}
}
