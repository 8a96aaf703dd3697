package ipam

import (
	"errors"
	"net/netip"
	"slices"
)

// Sentinel errors; Manager wraps them into sentences naming the pool.
var (
	ErrFull        = errors.New("no free addresses")
	ErrAllocated   = errors.New("already in use")
	ErrOutOfPool   = errors.New("outside the pool")
	ErrOverlap     = errors.New("overlaps an allocated pool")
	ErrUnknownPool = errors.New("unknown pool")
	ErrNoFreePool  = errors.New("no free pool")
)

// UsedFunc reports the addresses in use in one block (see Pool.Block).
type UsedFunc func(block string) ([]netip.Addr, error)

// Next returns the first free address of the pool's range after `after`,
// wrapping round once, so addresses are handed out in turn and one just
// released is not reused at once. It reads one block at a time: the cost
// depends on the block size, not on how many addresses are in use.
func (p Pool) Next(after netip.Addr, used UsedFunc) (netip.Addr, error) {
	first, last := p.first(), p.last()
	start := first
	if after.IsValid() && p.Range.Contains(after) && after.Compare(last) < 0 {
		start = after.Next()
	}
	if start.Compare(first) < 0 {
		start = first
	}
	// Two passes: [start, last], then [first, start).
	for pass, from, to := 0, start, last; pass < 2; pass, from, to = pass+1, first, start.Prev() {
		if from.Compare(to) > 0 {
			continue
		}
		a, err := p.scan(from, to, used)
		if err != nil || a.IsValid() {
			return a, err
		}
	}
	return netip.Addr{}, ErrFull
}

// scan looks block by block for a free address in [from, to].
func (p Pool) scan(from, to netip.Addr, used UsedFunc) (netip.Addr, error) {
	for a := from; a.IsValid() && a.Compare(to) <= 0; {
		taken, err := used(p.Block(a))
		if err != nil {
			return netip.Addr{}, err
		}
		end := p.blockEnd(a)
		if end.Compare(to) > 0 {
			end = to
		}
		for ; a.IsValid() && a.Compare(end) <= 0; a = a.Next() {
			if p.Allocatable(a) && !slices.Contains(taken, a) {
				return a, nil
			}
		}
	}
	return netip.Addr{}, nil
}

// PickFree returns the first subnet of /size inside base that overlaps none
// of taken.
func PickFree(base netip.Prefix, size int, taken []netip.Prefix) (netip.Prefix, error) {
	base = base.Masked()
	if size < base.Bits() || size > base.Addr().BitLen() {
		return netip.Prefix{}, errors.New("pool size does not fit the default range")
	}
	step := uint(base.Addr().BitLen() - size)
	for c := netip.PrefixFrom(base.Addr(), size); base.Contains(c.Addr()); {
		hit := -1
		for i, t := range taken {
			if t.Overlaps(c) {
				hit = i
				break
			}
		}
		if hit < 0 {
			return c, nil
		}
		// Jump past whichever ends later, the candidate or what it hit.
		end := lastOf(c)
		if e := lastOf(taken[hit]); e.Compare(end) > 0 {
			end = e
		}
		next := fromAddr(end).shr(step).add(1).shl(step)
		if next.cmp(fromAddr(end)) <= 0 { // wrapped past the top of the space
			break
		}
		c = netip.PrefixFrom(next.toAddr(base.Addr()), size)
	}
	return netip.Prefix{}, ErrNoFreePool
}
