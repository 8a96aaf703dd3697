package ovs

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// BenchmarkOneSetPerPool measures the design this package does not use:
// every claim of a pool in one Address_Set row. A claim+release there costs
// in proportion to the claims already in the set (the server copies the
// set, every monitoring client rebuilds it); with 256-address blocks it is
// bounded. Results in docs/benchmarks.md.
//
//	go test -run '^$' -bench OneSetPerPool -benchtime 500x ./ovs/
func BenchmarkOneSetPerPool(b *testing.B) {
	for _, used := range []int{1000, 10000, 60000} {
		b.Run(fmt.Sprintf("used=%d", used), func(b *testing.B) {
			s := &testServer{startTB(b)}
			nb := s.nbTB(b)
			ctx := context.Background()
			addrs := make([]string, 0, used)
			a := netip.MustParseAddr("10.0.0.1")
			for i := 0; i < used; i++ {
				addrs = append(addrs, a.String())
				a = a.Next()
			}
			if _, err := nb.transact(ctx, insertOp(nbdb.AddressSetTable, "", ovsdb.Row{"name": "one_set",
				"addresses": strSet(addrs), "external_ids": ipamMark("pool", nil)})); err != nil {
				b.Fatal(err)
			}
			for len(nb.IPAMUsed(context.Background(), "one", "set")) < used {
				time.Sleep(10 * time.Millisecond)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x := strSet([]string{a.String()})
				_, err := nb.transact(ctx,
					guard(nbdb.AddressSetTable, false, "one_set", ovsdb.NewCondition("addresses", ovsdb.ConditionIncludes, x)),
					ovsdb.Operation{Op: ovsdb.OperationMutate, Table: nbdb.AddressSetTable, Where: []ovsdb.Condition{nameIs("one_set")},
						Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("addresses", ovsdb.MutateOperationInsert, x)}})
				if err != nil {
					b.Fatal(err)
				}
				_ = nb.IPAMUsed(context.Background(), "one", "set") // the allocator reads the set to pick
				if _, err := nb.transact(ctx, ovsdb.Operation{Op: ovsdb.OperationMutate, Table: nbdb.AddressSetTable,
					Where:     []ovsdb.Condition{nameIs("one_set")},
					Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("addresses", ovsdb.MutateOperationDelete, x)}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
