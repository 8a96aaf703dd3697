package ipam

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/go-plugins-helpers/ipam"
)

// parsePoolRequest accepts a request into a usable pool or refuses it; it
// never panics.
func FuzzParsePoolRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "IpamDriver.RequestPool.*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"AddressSpace":"ovnglobal","Pool":"fd00::/64","SubPool":"fd00::/80","V6":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req ipam.RequestPoolRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		r, err := parsePoolRequest(&req)
		if err != nil || !r.subnet.IsValid() {
			return
		}
		if _, err := NewPool(r.subnet, r.rng); err != nil {
			t.Fatalf("accepted %+v, which makes no pool: %v", req, err)
		}
	})
}

// ParsePoolID and the address maths never panic, and a parsed pool ID
// round-trips.
func FuzzPoolID(f *testing.F) {
	for _, s := range []string{"ovnlocal/10.77.0.0/24", "ovnglobal/fd00::/64", "ovnlocal/10.0.0.1/24", "x", "ovnlocal/"} {
		f.Add(s, "10.77.0.9")
	}
	f.Fuzz(func(t *testing.T, id, address string) {
		space, subnet, err := ParsePoolID(id)
		if err != nil {
			return
		}
		if PoolID(space, subnet) != id {
			t.Fatalf("%q parsed to %s %s", id, space, subnet)
		}
		p, err := NewPool(subnet, netip.Prefix{})
		if err != nil {
			return
		}
		if a, err := netip.ParseAddr(address); err == nil && p.Allocatable(a) {
			_ = p.Block(a)
			if _, err := p.Next(a, func(string) ([]netip.Addr, error) { return nil, nil }); err != nil && p.hostBits() > 1 {
				t.Fatalf("Next after %s in empty %s: %v", a, subnet, err)
			}
		}
		_ = p.Capacity()
	})
}
