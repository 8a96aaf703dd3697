package store_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// Every error the database clients write, triggered against a real
// ovsdb-server and held to docs/errors.md by the shared checker. The
// driver and the IPAM driver pass them to Docker unchanged.

func TestIPAMStoreErrorsReadOnce(t *testing.T) {
	_, db, ctx, pool := withPool(t, "10.9.0.0/24")
	t.Run("pool name taken", func(t *testing.T) {
		snap, err := db.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = db.CreatePool(ctx, pool, snap.Generation)
		if !errors.Is(err, ovs.ErrConflict) {
			t.Errorf("not ovs.ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, pool.Name)
	})
	t.Run("generation not a number", func(t *testing.T) {
		err := db.CreatePool(ctx, pool, "abc")
		usererrtest.Check(t, err, `"abc"`)
	})
	t.Run("address taken", func(t *testing.T) {
		a := netip.MustParseAddr("10.9.0.5")
		if err := db.Claim(ctx, pool.Name, "0", a, false); err != nil {
			t.Fatal(err)
		}
		err := db.Claim(ctx, pool.Name, "0", a, false)
		if !errors.Is(err, ovs.ErrTaken) {
			t.Errorf("not ovs.ErrTaken: %v", err)
		}
		usererrtest.Check(t, err, "10.9.0.5")
	})
}
