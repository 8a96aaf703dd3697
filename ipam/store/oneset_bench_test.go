package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// BenchmarkOneSetPerPool measures the design this package does not use:
// every claim of a pool in one Address_Set row. A claim+release there costs
// in proportion to the claims already in the set (the server copies the
// set, every monitoring client rebuilds it); with 256-address blocks it is
// bounded. Results in docs/benchmarks.md.
//
//	go test -run '^$' -bench OneSetPerPool -benchtime 500x ./ipam/store/
func BenchmarkOneSetPerPool(b *testing.B) {
	for _, used := range []int{1000, 10000, 60000} {
		b.Run(fmt.Sprintf("used=%d", used), func(b *testing.B) {
			s := startServer(b)
			c := s.nb(b)
			ctx := context.Background()
			addrs := make([]string, 0, used)
			a := netip.MustParseAddr("10.0.0.1")
			for i := 0; i < used; i++ {
				addrs = append(addrs, a.String())
				a = a.Next()
			}
			if _, err := c.Transact(ctx, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: nbdb.AddressSetTable,
				Row: ovsdb.Row{"name": "one_set", "addresses": conn.StrSet(addrs),
					"external_ids": conn.StrMap(ovs.Mark(map[string]string{"docker:ipam-kind": "pool"}))}}); err != nil {
				b.Fatal(err)
			}
			read := func() int {
				row := &nbdb.AddressSet{Name: "one_set"}
				if c.DB().Get(ctx, row) != nil {
					return 0
				}
				return len(row.Addresses)
			}
			for read() < used {
				time.Sleep(10 * time.Millisecond)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x := conn.StrSet([]string{a.String()})
				_, err := c.Transact(ctx,
					conn.Named(nbdb.AddressSetTable, false, "one_set", conn.SetIncludes("addresses", a.String())),
					ovsdb.Operation{Op: ovsdb.OperationMutate, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{conn.NameIs("one_set")},
						Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("addresses", ovsdb.MutateOperationInsert, x)}})
				if err != nil {
					b.Fatal(err)
				}
				_ = read() // the allocator reads the set to pick
				if _, err := c.Transact(ctx, ovsdb.Operation{Op: ovsdb.OperationMutate, Table: nbdb.AddressSetTable,
					Where:     []ovsdb.Condition{conn.NameIs("one_set")},
					Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("addresses", ovsdb.MutateOperationDelete, x)}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
