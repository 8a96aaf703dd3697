package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

// usedSet is a fake block store: addresses in use, looked up per block.
type usedSet struct {
	pool  Pool
	addrs map[netip.Addr]bool
	reads int
}

func (u *usedSet) used(block string) ([]netip.Addr, error) {
	u.reads++
	var out []netip.Addr
	for a := range u.addrs {
		if u.pool.Block(a) == block {
			out = append(out, a)
		}
	}
	return out, nil
}

func mustPool(t *testing.T, subnet, rng string) Pool {
	t.Helper()
	var r netip.Prefix
	if rng != "" {
		r = pfx(rng)
	}
	p, err := NewPool(pfx(subnet), r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPool(t *testing.T) {
	for _, tc := range []struct {
		subnet, rng string
		ok          bool
	}{
		{"10.0.0.0/24", "", true},
		{"10.0.0.5/24", "", true}, // masked
		{"10.0.0.0/24", "10.0.0.128/25", true},
		{"10.0.0.0/24", "10.0.1.0/25", false},
		{"10.0.0.0/24", "10.0.0.0/23", false},
		{"10.0.0.0/24", "fd00::/64", false},
		{"10.0.0.0/32", "", true},
		{"fd00::/64", "fd00::8000:0:0:0/65", true},
	} {
		var r netip.Prefix
		if tc.rng != "" {
			r = pfx(tc.rng)
		}
		if _, err := NewPool(pfx(tc.subnet), r); (err == nil) != tc.ok {
			t.Errorf("NewPool(%s, %s): %v", tc.subnet, tc.rng, err)
		}
	}
}

func TestAllocatable(t *testing.T) {
	p := mustPool(t, "10.0.0.0/24", "")
	for a, want := range map[string]bool{"10.0.0.0": false, "10.0.0.1": true, "10.0.0.254": true, "10.0.0.255": false, "10.0.1.1": false} {
		if got := p.Allocatable(addr(a)); got != want {
			t.Errorf("%s: %v", a, got)
		}
	}
	if p31 := mustPool(t, "10.0.0.0/31", ""); !p31.Allocatable(addr("10.0.0.0")) || !p31.Allocatable(addr("10.0.0.1")) {
		t.Error("/31 addresses are both hosts")
	}
	p6 := mustPool(t, "fd00::/64", "")
	if p6.Allocatable(addr("fd00::")) || !p6.Allocatable(addr("fd00::ffff:ffff:ffff:ffff")) {
		t.Error("IPv6: subnet-router anycast reserved, no broadcast")
	}
	if g := p.Gateway(); g != addr("10.0.0.1") {
		t.Errorf("gateway %s", g)
	}
}

func TestBlocks(t *testing.T) {
	p := mustPool(t, "10.1.0.0/16", "")
	for a, want := range map[string]string{"10.1.0.1": "0", "10.1.0.255": "0", "10.1.1.0": "1", "10.1.255.254": "ff"} {
		if got := p.Block(addr(a)); got != want {
			t.Errorf("Block(%s) = %s, want %s", a, got, want)
		}
	}
	p6 := mustPool(t, "fd00:1::/48", "")
	if got := p6.Block(addr("fd00:1:0:0:ffff:ffff:ffff:ff01")); got != "ffffffffffffff" {
		t.Errorf("IPv6 block %s", got)
	}
	if got := p6.Block(addr("fd00:1:0:ffff:ffff:ffff:ffff:ffff")); got != "ffffffffffffffffff" {
		t.Errorf("IPv6 /48 top block %s (needs more than 64 bits)", got)
	}
	if end := p.blockEnd(addr("10.1.3.7")); end != addr("10.1.3.255") {
		t.Errorf("blockEnd %s", end)
	}
	if end := mustPool(t, "10.2.0.0/29", "").blockEnd(addr("10.2.0.1")); end != addr("10.2.0.7") {
		t.Errorf("blockEnd of a /29 %s", end)
	}
}

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		name, subnet, rng, after string
		used                     []string
		want                     string
		err                      error
	}{
		{"empty pool", "10.0.0.0/24", "", "", nil, "10.0.0.1", nil},
		{"after the cursor", "10.0.0.0/24", "", "10.0.0.7", nil, "10.0.0.8", nil},
		{"skips used", "10.0.0.0/24", "", "", []string{"10.0.0.1", "10.0.0.2"}, "10.0.0.3", nil},
		{"released address not reused at once", "10.0.0.0/24", "", "10.0.0.5", []string{"10.0.0.1", "10.0.0.2"}, "10.0.0.6", nil},
		{"wraps round", "10.0.0.0/29", "", "10.0.0.6", []string{"10.0.0.1"}, "10.0.0.2", nil},
		{"full", "10.0.0.0/29", "", "", []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}, "", ErrFull},
		{"range", "10.77.0.0/24", "10.77.0.128/25", "", nil, "10.77.0.128", nil},
		{"range excludes broadcast", "10.77.0.0/24", "10.77.0.252/30", "10.77.0.253", []string{"10.77.0.252"}, "10.77.0.254", nil},
		{"cursor outside range", "10.77.0.0/24", "10.77.0.128/25", "10.77.0.3", nil, "10.77.0.128", nil},
		{"crosses blocks", "10.1.0.0/16", "", "10.1.0.254", []string{"10.1.0.255", "10.1.1.0"}, "10.1.1.1", nil},
		{"ipv6", "fd00::/64", "", "", []string{"fd00::1"}, "fd00::2", nil},
		{"ipv6 high cursor", "fd00::/64", "", "fd00::ffff:ffff:ffff:fffd", nil, "fd00::ffff:ffff:ffff:fffe", nil},
		{"/32", "10.9.9.9/32", "", "", nil, "10.9.9.9", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPool(t, tc.subnet, tc.rng)
			u := &usedSet{pool: p, addrs: map[netip.Addr]bool{}}
			for _, a := range tc.used {
				u.addrs[addr(a)] = true
			}
			var after netip.Addr
			if tc.after != "" {
				after = addr(tc.after)
			}
			got, err := p.Next(after, u.used)
			if !errors.Is(err, tc.err) || (tc.want != "" && got != addr(tc.want)) {
				t.Fatalf("Next = %s, %v; want %s, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// The cost of Next must not grow with the addresses in use: it reads the
// block it starts in and, when that block is full, the next.
func TestNextReadsBlocksNotAddresses(t *testing.T) {
	p := mustPool(t, "10.1.0.0/16", "")
	u := &usedSet{pool: p, addrs: map[netip.Addr]bool{}}
	a := p.first()
	for i := 0; i < 60000; i++ {
		u.addrs[a] = true
		a = a.Next()
	}
	got, err := p.Next(addr("10.1.234.95"), u.used)
	if err != nil || got != addr("10.1.234.97") { // .96 is the 60000th
		t.Fatalf("Next = %s %v", got, err)
	}
	if u.reads > 2 {
		t.Fatalf("read %d blocks", u.reads)
	}
}

func TestPickFree(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  string
		size  int
		taken []string
		want  string
		err   error
	}{
		{"first", "10.128.0.0/9", 24, nil, "10.128.0.0/24", nil},
		{"skips taken", "10.128.0.0/9", 24, []string{"10.128.0.0/24", "10.128.1.0/24"}, "10.128.2.0/24", nil},
		{"skips a larger overlap", "10.128.0.0/9", 24, []string{"10.128.0.0/16"}, "10.129.0.0/24", nil},
		{"skips a smaller overlap", "10.128.0.0/9", 24, []string{"10.128.0.200/29"}, "10.128.1.0/24", nil},
		{"ignores other family", "10.128.0.0/9", 24, []string{"fd00::/8"}, "10.128.0.0/24", nil},
		{"exhausted", "10.0.0.0/23", 24, []string{"10.0.0.0/24", "10.0.1.0/24"}, "", ErrNoFreePool},
		{"covering pool", "10.0.0.0/23", 24, []string{"10.0.0.0/8"}, "", ErrNoFreePool},
		{"top of the space", "255.255.255.0/24", 25, []string{"255.255.255.0/24"}, "", ErrNoFreePool},
		{"ipv6", "fd6f:766e:6400::/40", 64, []string{"fd6f:766e:6400::/64"}, "fd6f:766e:6400:1::/64", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var taken []netip.Prefix
			for _, s := range tc.taken {
				taken = append(taken, pfx(s))
			}
			got, err := PickFree(pfx(tc.base), tc.size, taken)
			if !errors.Is(err, tc.err) || (tc.want != "" && got != pfx(tc.want)) {
				t.Fatalf("PickFree = %s, %v; want %s, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
