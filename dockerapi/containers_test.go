package dockerapi

import (
	"net/netip"
	"testing"
)

func TestDecodeContainers(t *testing.T) {
	cs, err := DecodeContainers([]byte(`[{"Id":"c1","Names":["/web"],"NetworkSettings":{"Networks":{"n":{"NetworkID":"routed",` +
		`"EndpointID":"ep1","IPAddress":"10.0.0.2","GlobalIPv6Address":"","Aliases":["api"],"DNSNames":["web","api"]}}}}]`))
	if err != nil || len(cs) != 1 || cs[0].Name != "web" || cs[0].Endpoints[0].IPv4 != netip.MustParseAddr("10.0.0.2") ||
		cs[0].Endpoints[0].Aliases[0] != "api" || len(cs[0].Endpoints[0].DNSNames) != 2 {
		t.Fatalf("%+v %v", cs, err)
	}
}

// Whatever Docker's answer holds, decoding fails cleanly or gives
// containers; it never panics.
func FuzzDecodeContainers(f *testing.F) {
	f.Add([]byte(`[{"Id":"c1","Names":["/web"],"NetworkSettings":{"Networks":{"n":{"EndpointID":"e","IPAddress":"10.0.0.2"}}}}]`))
	f.Add([]byte(`[{"Names":[],"NetworkSettings":{"Networks":null}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cs, err := DecodeContainers(body)
		if err == nil && cs == nil {
			t.Fatal("no error and no list")
		}
	})
}
