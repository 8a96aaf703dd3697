package ipam

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
)

// u128 is an unsigned 128-bit integer: offsets inside IPv6 pools of /64 and
// larger do not fit 64 bits.
type u128 struct{ hi, lo uint64 }

func fromAddr(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// toAddr turns v back into an address of the family of like.
func (v u128) toAddr(like netip.Addr) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	a := netip.AddrFrom16(b)
	if like.Is4() {
		return a.Unmap()
	}
	return a
}

func (v u128) add(n uint64) u128 {
	lo, carry := bits.Add64(v.lo, n, 0)
	return u128{v.hi + carry, lo}
}

func (v u128) addU(w u128) u128 {
	lo, carry := bits.Add64(v.lo, w.lo, 0)
	return u128{v.hi + w.hi + carry, lo}
}

func (v u128) sub(w u128) u128 {
	lo, borrow := bits.Sub64(v.lo, w.lo, 0)
	return u128{v.hi - w.hi - borrow, lo}
}

func (v u128) cmp(w u128) int {
	switch {
	case v.hi < w.hi || (v.hi == w.hi && v.lo < w.lo):
		return -1
	case v == w:
		return 0
	}
	return 1
}

func (v u128) shr(n uint) u128 {
	switch {
	case n == 0:
		return v
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{0, v.hi >> (n - 64)}
	}
	return u128{v.hi >> n, v.lo>>n | v.hi<<(64-n)}
}

func (v u128) shl(n uint) u128 {
	switch {
	case n == 0:
		return v
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{v.lo << (n - 64), 0}
	}
	return u128{v.hi<<n | v.lo>>(64-n), v.lo << n}
}

// ones returns 2^n - 1.
func ones(n uint) u128 {
	if n >= 128 {
		return u128{^uint64(0), ^uint64(0)}
	}
	return u128{0, 1}.shl(n).sub(u128{0, 1})
}

func (v u128) String() string {
	if v.hi == 0 {
		return fmt.Sprintf("%x", v.lo)
	}
	return fmt.Sprintf("%x%016x", v.hi, v.lo)
}
