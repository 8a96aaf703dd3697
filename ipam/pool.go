package ipam

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// BlockBits sets the block size: claims are kept in blocks of 256
// addresses, so a claim touches one small row whatever the pool's size or
// how many addresses are in use.
const BlockBits = 8

// Pool is the geometry of one address pool.
type Pool struct {
	Subnet netip.Prefix // the network
	Range  netip.Prefix // where dynamic addresses come from (--ip-range); the subnet if none
}

// NewPool validates a subnet and optional sub-range.
func NewPool(subnet, rng netip.Prefix) (Pool, error) {
	if !subnet.IsValid() {
		return Pool{}, errors.New("invalid subnet")
	}
	subnet = subnet.Masked()
	if !rng.IsValid() {
		rng = subnet
	}
	rng = rng.Masked()
	if rng.Addr().Is4() != subnet.Addr().Is4() || rng.Bits() < subnet.Bits() || !subnet.Contains(rng.Addr()) {
		return Pool{}, usererr.Errorf(nil, "give a range inside the subnet", "--ip-range %s is not inside subnet %s", rng, subnet)
	}
	p := Pool{Subnet: subnet, Range: rng}
	if p.first().Compare(p.last()) > 0 {
		return Pool{}, usererr.Errorf(nil, "give a larger range", "--ip-range %s leaves no usable address in subnet %s", rng, subnet)
	}
	return p, nil
}

func (p Pool) hostBits() uint { return uint(p.Subnet.Addr().BitLen() - p.Subnet.Bits()) }

func (p Pool) base() u128 { return fromAddr(p.Subnet.Addr()) }

// Allocatable reports whether a may be handed out at all: inside the
// subnet, not its network address and, for IPv4 subnets larger than /31,
// not its broadcast address.
func (p Pool) Allocatable(a netip.Addr) bool {
	if !p.Subnet.Contains(a) {
		return false
	}
	if p.hostBits() <= 1 {
		return true // /31, /32, /127, /128: every address is a host
	}
	if a == p.Subnet.Addr() {
		return false
	}
	return !(a.Is4() && a == lastOf(p.Subnet))
}

// first and last bound the dynamic range, reserved addresses excluded.
func (p Pool) first() netip.Addr {
	a := p.Range.Addr()
	for !p.Allocatable(a) && p.Range.Contains(a) {
		a = a.Next()
	}
	return a
}

func (p Pool) last() netip.Addr {
	a := lastOf(p.Range)
	for !p.Allocatable(a) && p.Range.Contains(a) {
		a = a.Prev()
	}
	return a
}

// Gateway is the address conventionally given to the gateway: the first
// host address of the subnet.
func (p Pool) Gateway() netip.Addr {
	a := p.Subnet.Addr()
	for !p.Allocatable(a) && p.Subnet.Contains(a) {
		a = a.Next()
	}
	return a
}

// Block names the block holding a: its offset in the subnet >> BlockBits,
// in hex.
func (p Pool) Block(a netip.Addr) string {
	return fromAddr(a).sub(p.base()).shr(BlockBits).String()
}

// blockEnd is the last address of a's block, or of the subnet if sooner.
func (p Pool) blockEnd(a netip.Addr) netip.Addr {
	off := fromAddr(a).sub(p.base())
	end := off.shr(BlockBits).shl(BlockBits).add(1<<BlockBits - 1)
	if max := ones(p.hostBits()); end.cmp(max) > 0 {
		end = max
	}
	return p.base().addU(end).toAddr(a)
}

// lastOf is the last address of a prefix.
func lastOf(p netip.Prefix) netip.Addr {
	host := uint(p.Addr().BitLen() - p.Bits())
	return fromAddr(p.Addr()).addU(ones(host)).toAddr(p.Addr())
}

// Capacity says how many addresses the pool can hand out, in words fit for
// display ("254", "2^64"): IPv6 pools are far too large for an integer.
func (p Pool) Capacity() string {
	host := p.hostBits()
	if host > 62 {
		return fmt.Sprintf("2^%d", host)
	}
	n := uint64(1) << host
	switch {
	case host <= 1:
	case p.Subnet.Addr().Is4():
		n -= 2 // network and broadcast
	default:
		n-- // subnet-router anycast
	}
	return fmt.Sprint(n)
}
