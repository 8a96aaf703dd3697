package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// withEndpoints makes n endpoints (CreateEndpoint, and the exposed-ports
// ACL Join would make, as other hosts' endpoints would have) on a network
// with the driver options generic.
func withEndpoints(b *testing.B, n int, generic map[string]string) *server {
	s := startServerWith(b, 5*time.Second, generic)
	ctx := context.Background()
	sw, err := s.nb.Switch(ctx, s.nid)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		ep := s.endpoint(b, 10000+i, true)
		id := ep["EndpointID"].(string)
		b.Cleanup(func() { s.call(b, "DeleteEndpoint", ep) })
		p := nb.Port{Name: driver.PortName(id), EndpointID: id, Exposed: []nb.Exposed{{Proto: "tcp", Port: 80}, {Proto: "udp", Port: 53}}}
		if err := s.nb.EnsureExposed(ctx, sw, p); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// policies are the networks compared: no policy, exposed ports only.
var policies = []struct {
	name    string
	generic map[string]string
}{{"none", nil}, {"exposed", map[string]string{"ovn.ingress": "exposed"}}}

// BenchmarkCreateJoin: CreateEndpoint and Join (waiting for
// ovn-installed) alone, on a network that already has 0 or 1 000
// endpoints, each exposing two ports, without policy and with
// ovn.ingress=exposed; Leave and DeleteEndpoint run with the timer
// stopped. Each call's share is reported too.
func BenchmarkCreateJoin(b *testing.B) {
	for _, n := range []int{0, 1000} {
		for _, tc := range policies {
			b.Run(fmt.Sprintf("among=%d/%s", n, tc.name), func(b *testing.B) {
				s := withEndpoints(b, n, tc.generic)
				var create, join time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					ep := s.endpoint(b, i, true)
					t1 := time.Now()
					s.call(b, "Join", joinRequest(ep, true))
					create, join = create+t1.Sub(t0), join+time.Since(t1)
					b.StopTimer()
					s.call(b, "Leave", ep)
					s.call(b, "DeleteEndpoint", ep)
					b.StartTimer()
				}
				b.ReportMetric(float64(create.Microseconds())/1000/float64(b.N), "create-ms/op")
				b.ReportMetric(float64(join.Microseconds())/1000/float64(b.N), "join-ms/op")
			})
		}
	}
}

// BenchmarkCycleAmong1000: a container's calls (Join waiting for
// ovn-installed) on a network that already has 1 000 endpoints, without
// policy and with ovn.ingress=exposed (a network ACL pair and one ACL per
// endpoint, 1 002 ACLs in all before the container's own).
func BenchmarkCycleAmong1000(b *testing.B) {
	for _, tc := range policies {
		b.Run(tc.name, func(b *testing.B) {
			s := withEndpoints(b, 1000, tc.generic)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.cycleWith(b, i, true)
			}
		})
	}
}
