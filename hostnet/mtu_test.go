package hostnet

import (
	"errors"
	"strconv"
	"testing"
)

// fakeNIC adds a device standing in for a NIC: a veth with both ends up,
// so it has carrier. (A dummy would do, but minimal kernels, this test
// VM's included, ship without the dummy module.)
func fakeNIC(t *testing.T, ns, name string, mtu int, addrs ...string) {
	t.Helper()
	run(t, ns, "ip", "link", "add", name, "mtu", strconv.Itoa(mtu), "type", "veth", "peer", "name", name+"-p")
	for _, a := range addrs {
		run(t, ns, "ip", "addr", "add", a, "dev", name, "nodad")
	}
	run(t, ns, "ip", "link", "set", name+"-p", "up")
	run(t, ns, "ip", "link", "set", name, "up")
}

func TestUnderlayMTU(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "set", "lo", "up")
	fakeNIC(t, ns, "jumbo", 9000, "172.31.9.1/24", "fd00:9::1/64")
	check := func(stage string, cases map[string]int) {
		t.Helper()
		for ip, want := range cases {
			if got, err := h.UnderlayMTU(ip); got != want || err != nil {
				t.Errorf("%s: UnderlayMTU(%q) = %d, %v; want %d", stage, ip, got, err, want)
			}
		}
	}
	check("no default route", map[string]int{"172.31.9.1": 9000, "fd00:9::1": 9000})
	for _, ip := range []string{"", "127.0.0.1", "192.0.2.1"} {
		if got, err := h.UnderlayMTU(ip); !errors.Is(err, ErrNoUnderlay) {
			t.Errorf("no default route: UnderlayMTU(%q) = %d, %v; want ErrNoUnderlay, not a guess", ip, got, err)
		}
	}
	fakeNIC(t, ns, "uplink", 1400, "172.31.8.1/24")
	run(t, ns, "ip", "route", "add", "default", "via", "172.31.8.254")
	check("default route via uplink", map[string]int{
		"172.31.9.1": 9000, "fd00:9::1": 9000,
		"": 1400, "127.0.0.1": 1400, "::1": 1400, "192.0.2.1": 1400, "not-an-ip": 1400,
	})
}

func TestGeneveOverhead(t *testing.T) {
	for _, tc := range []struct {
		name, ip string
		want     int
	}{
		{"empty means IPv4", "", 58},
		{"IPv4", "172.31.0.1", 58},
		{"IPv4-mapped IPv6 is IPv4", "::ffff:10.0.0.1", 58},
		{"IPv6", "fd00::1", 78},
		{"unparsable falls back to IPv4", "garbage", 58},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GeneveOverhead(tc.ip); got != tc.want {
				t.Errorf("GeneveOverhead(%q) = %d, want %d", tc.ip, got, tc.want)
			}
		})
	}
	if got := 1500 - GeneveOverhead("10.0.0.1"); got != 1442 {
		t.Errorf("a 1500-byte IPv4 underlay leaves %d, want 1442", got)
	}
}
