package bench

import (
	"context"
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

// BenchmarkCycleAmong1000: a container's calls (Join waiting for
// ovn-installed) on a network that already has 1 000 endpoints, without
// policy and with ovn.ingress=exposed (a network ACL pair and one ACL per
// endpoint, 1 002 ACLs in all before the container's own).
func BenchmarkCycleAmong1000(b *testing.B) {
	for _, tc := range []struct {
		name    string
		generic map[string]string
	}{{"none", nil}, {"exposed", map[string]string{"ovn.ingress": "exposed"}}} {
		b.Run(tc.name, func(b *testing.B) {
			s := withEndpoints(b, 1000, tc.generic)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.cycleWith(b, i, true)
			}
		})
	}
}
