package ipam

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/ipam"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	"github.com/ovn-docker/ovn-docker/ipam/store"
)

// A pool made before claims moved to external_ids, with its rows exactly
// as that version wrote them, keeps working after an upgrade: its claims
// stay in its blocks' addresses, where daemons not yet upgraded look,
// while a new pool's go to external_ids under a name those daemons do not
// know.
func TestLegacyPoolKeepsItsClaimsInAddresses(t *testing.T) {
	srv := ovsdbtest.Start(t)
	const legacy = "ovn_docker_ipam_ovnlocal_0a2a0000_23"
	srv.Nbctl("create", "Address_Set", "name="+legacy,
		`external_ids={"docker:owner"="ovn-docker","docker:ipam-kind"=pool,"docker:ipam-pool"=`+legacy+
			`,"docker:ipam-space"=ovnlocal,"docker:ipam-subnet"="10.42.0.0/23","docker:chassis"=host1,"docker:ipam-last"="10.42.0.5"}`)
	srv.Nbctl("create", "Address_Set", "name="+legacy+"_0", `addresses=["10.42.0.1","10.42.0.5"]`,
		`external_ids={"docker:owner"="ovn-docker","docker:ipam-kind"=block,"docker:ipam-pool"=`+legacy+`}`)
	c := daemon(t, srv)
	const id = "ovnlocal/10.42.0.0/23"
	if a := c.mustAddr(id, ""); a != "10.42.0.6/23" {
		t.Fatalf("next address %s, want 10.42.0.6/23", a)
	}
	if _, err := c.addr(id, "10.42.0.5", false); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("claim of an address the old version claimed: %v", err)
	}
	c.release(id, "10.42.0.1")
	// The pool's second block is made by this version, in the old format.
	c.mustAddr(id, "10.42.1.7")
	for block, want := range map[string]string{"0": "10.42.0.5 10.42.0.6", "1": "10.42.1.7"} {
		if got := srv.Nbctl("--bare", "--columns=addresses", "list", "Address_Set", legacy+"_"+block); got != want {
			t.Fatalf("legacy block %s's addresses %q, want %s", block, got, want)
		}
		if ids := srv.Nbctl("get", "Address_Set", legacy+"_"+block, "external_ids"); strings.Contains(ids, "ipam-claim") {
			t.Fatalf("legacy block %s got claims in external_ids: %s", block, ids)
		}
	}
	if _, err := c.m.RequestPool(context.Background(), &ipam.RequestPoolRequest{AddressSpace: LocalSpace, Pool: "10.42.0.0/23"}); err == nil ||
		!strings.Contains(err.Error(), "overlaps pool 10.42.0.0/23") {
		t.Fatalf("a new pool over the legacy one: %v", err)
	}

	// A new pool's rows are named apart, with claims in external_ids.
	p := c.pool("10.43.0.0/24", "", false)
	c.mustAddr(p, "10.43.0.9")
	row := store.RowName(LocalSpace, pfx("10.43.0.0/24"))
	if strings.HasPrefix(row, "ovn_docker_ipam_") {
		t.Fatalf("new pool row %s is named as legacy daemons would find it", row)
	}
	if got := strings.Join(claimed(t, srv, row), " "); got != "10.43.0.9" {
		t.Fatalf("new pool's claims %q", got)
	}

	all, err := c.m.db.Claimed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(all[legacy], all[row]); got != "[10.42.0.5 10.42.0.6 10.42.1.7] [10.43.0.9]" {
		t.Fatalf("Claimed lists %s", got)
	}
	if err := c.m.ReleasePool(context.Background(), &ipam.ReleasePoolRequest{PoolID: id}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Nbctl("--bare", "--columns=name", "find", "Address_Set", `external_ids:"docker:ipam-pool"=`+legacy); got != "" {
		t.Fatalf("legacy rows left after ReleasePool: %q", got)
	}
}
