package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	"github.com/ovn-docker/ovn-docker/ipam/store"
)

// BenchmarkClaimRelease measures one RequestAddress + ReleaseAddress on a
// /16 already holding 1k, 10k or 60k claims spread evenly over it, against
// a real ovsdb-server. The cost should not depend on that number.
//
//	go test -run '^$' -bench ClaimRelease -benchtime 2000x ./ipam/
func BenchmarkClaimRelease(b *testing.B) {
	for _, used := range []int{1000, 10000, 60000} {
		b.Run(fmt.Sprintf("used=%d", used), func(b *testing.B) {
			srv := ovsdbtest.Start(b)
			id := daemon(b, srv).pool("10.0.0.0/16", "", false)
			pool, _ := NewPool(pfx("10.0.0.0/16"), netip.Prefix{})
			prefill(b, srv, pool, used)
			// The daemon measured starts now: once it has its first
			// monitor reply, its cache holds every prefilled claim.
			c := daemon(b, srv)
			if _, err := c.m.db.Find(context.Background(), LocalSpace, pool.Subnet); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a, err := c.addr(id, "", false)
				if err != nil {
					b.Fatal(err)
				}
				c.release(id, a)
			}
		})
	}
}

// spread returns n addresses spread evenly over the pool's hosts.
func spread(p Pool, n int) []netip.Addr {
	hosts := 65534
	out := make([]netip.Addr, 0, n)
	a := p.first()
	for i := 1; i <= hosts; i, a = i+1, a.Next() {
		if i*n/hosts != (i-1)*n/hosts {
			out = append(out, a)
		}
	}
	return out
}

// prefill writes the claims straight into NB, block rows as IPAMClaim
// makes them, many blocks per ovn-nbctl run.
func prefill(b *testing.B, srv *ovsdbtest.Server, p Pool, n int) {
	row := store.RowName(LocalSpace, p.Subnet)
	blocks := map[string][]string{}
	for _, a := range spread(p, n) {
		blocks[p.Block(a)] = append(blocks[p.Block(a)], `"docker:ipam-claim:`+a.String()+`"=""`)
	}
	var args []string
	flush := func() {
		if len(args) > 0 {
			srv.Nbctl(args...)
			args = nil
		}
	}
	for blk, addrs := range blocks {
		args = append(args, "--", "create", "Address_Set", "name="+row+"_"+blk,
			`external_ids={"docker:owner"="ovn-docker","docker:ipam-kind"=block,"docker:ipam-pool"=`+row+","+strings.Join(addrs, ",")+`}`)
		if len(args) > 60 {
			flush()
		}
	}
	flush()
}
