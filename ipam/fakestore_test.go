package ipam

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// fakeStore keeps the Store's semantics in memory, for the manager's logic;
// nb_test.go runs the same calls against a real ovsdb-server.
type fakeStore struct {
	mu       sync.Mutex
	gen      int
	pools    map[string]store.Pool
	blocks   map[string]map[netip.Addr]bool
	switches []netip.Prefix
}

func newFakeStore() *fakeStore {
	return &fakeStore{pools: map[string]store.Pool{}, blocks: map[string]map[netip.Addr]bool{}}
}

func (f *fakeStore) Snapshot(context.Context) (*store.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &store.Snapshot{Generation: strconv.Itoa(f.gen), SwitchSubnets: f.switches}
	for _, p := range f.pools {
		s.Pools = append(s.Pools, p)
	}
	return s, nil
}

func (f *fakeStore) CreatePool(_ context.Context, p store.Pool, gen string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != strconv.Itoa(f.gen) {
		return ovs.ErrStale
	}
	f.gen++
	if _, ok := f.pools[p.Name]; ok {
		return ovs.ErrConflict
	}
	if p.Network != "" {
		p.Refs = []string{p.Chassis}
	}
	f.pools[p.Name] = p
	return nil
}

func (f *fakeStore) AddRef(_ context.Context, name, network, chassis string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[name]
	if !ok || p.Network != network {
		return ovs.ErrNotFound
	}
	if !slices.Contains(p.Refs, chassis) {
		p.Refs = append(p.Refs, chassis)
	}
	f.pools[name] = p
	return nil
}

func (f *fakeStore) DropRef(_ context.Context, name, chassis string) (bool, error) {
	f.mu.Lock()
	p, ok := f.pools[name]
	if !ok {
		f.mu.Unlock()
		return false, nil
	}
	p.Refs = slices.DeleteFunc(p.Refs, func(c string) bool { return c == chassis })
	f.pools[name] = p
	f.mu.Unlock()
	if len(p.Refs) > 0 {
		return false, nil
	}
	return true, f.DeletePool(context.Background(), name)
}

func (f *fakeStore) ClaimGateway(ctx context.Context, pool, block string, a netip.Addr) (netip.Addr, error) {
	f.mu.Lock()
	p := f.pools[pool]
	if p.Gateway.IsValid() {
		f.mu.Unlock()
		return p.Gateway, nil
	}
	f.mu.Unlock()
	if err := f.Claim(ctx, pool, block, a, false); err != nil {
		return a, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p = f.pools[pool]
	p.Gateway = a
	f.pools[pool] = p
	return a, nil
}

func (f *fakeStore) Find(_ context.Context, space string, subnet netip.Prefix) (*store.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[store.RowName(space, subnet)]
	if !ok {
		return nil, ovs.ErrNotFound
	}
	return &p, nil
}

func (f *fakeStore) DeletePool(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pools, name)
	for k := range f.blocks {
		if strings.HasPrefix(k, name+"_") {
			delete(f.blocks, k)
		}
	}
	return nil
}

func (f *fakeStore) Used(_ context.Context, pool, block string) []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netip.Addr
	for a := range f.blocks[pool+"_"+block] {
		out = append(out, a)
	}
	return out
}

func (f *fakeStore) Claim(_ context.Context, pool, block string, a netip.Addr, cursor bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[pool]
	if !ok {
		return ovs.ErrNotFound
	}
	b := f.blocks[pool+"_"+block]
	if b == nil {
		b = map[netip.Addr]bool{}
		f.blocks[pool+"_"+block] = b
	}
	if b[a] {
		return ovs.ErrTaken
	}
	b[a] = true
	if cursor {
		p.Last = a
		f.pools[pool] = p
	}
	return nil
}

func (f *fakeStore) Claimed(context.Context) (map[string][]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]netip.Addr{}
	for k, b := range f.blocks {
		pool := k[:strings.LastIndex(k, "_")]
		for a := range b {
			out[pool] = append(out[pool], a)
		}
	}
	return out, nil
}

func (f *fakeStore) Release(_ context.Context, pool, block string, a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.blocks[pool+"_"+block], a)
	return nil
}
