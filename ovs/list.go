package ovs

import (
	"context"
	"net/netip"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
	"github.com/ovn-docker/ovn-docker/ovs/vswitchd"
)

// Listings for the operator's view; all read from the server, so they show
// what is, not what the cache has seen.

func owned() ovsdb.Condition {
	return ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes,
		strMap(map[string]string{OwnerKey: OwnerValue}))
}

// Ports lists every driver-owned logical port, on any chassis.
func (nb *NB) Ports(ctx context.Context) ([]*Port, error) {
	rows, err := selectRows[*nbdb.LogicalSwitchPort](ctx, nb.conn, nbdb.LogicalSwitchPortTable, owned())
	if err != nil {
		return nil, err
	}
	out := make([]*Port, 0, len(rows))
	for _, r := range rows {
		out = append(out, portFromRow(r))
	}
	return out, nil
}

// IPAMClaims counts the claimed addresses of every pool, by pool row name.
func (nb *NB) IPAMClaims(ctx context.Context) (map[string]int, error) {
	claimed, err := nb.IPAMClaimed(ctx)
	if err != nil {
		return nil, err
	}
	n := make(map[string]int, len(claimed))
	for pool, addrs := range claimed {
		n[pool] = len(addrs)
	}
	return n, nil
}

// IPAMClaimed lists the claimed addresses of every pool, by pool row name.
func (nb *NB) IPAMClaimed(ctx context.Context) (map[string][]netip.Addr, error) {
	rows, err := selectRows[*nbdb.AddressSet](ctx, nb.conn, nbdb.AddressSetTable, ipamKind("block"))
	if err != nil {
		return nil, err
	}
	out := map[string][]netip.Addr{}
	for _, r := range rows {
		pool := r.ExternalIDs[ipamPoolKey]
		for _, s := range r.Addresses {
			if a, err := netip.ParseAddr(s); err == nil {
				out[pool] = append(out[pool], a)
			}
		}
	}
	return out, nil
}

// Interfaces lists every driver-owned OVS interface of this host.
func (o *OVS) Interfaces(ctx context.Context) ([]*Iface, error) {
	rows, err := selectRows[*vswitchd.Interface](ctx, o.conn, vswitchd.InterfaceTable, owned())
	if err != nil {
		return nil, err
	}
	out := make([]*Iface, 0, len(rows))
	for _, r := range rows {
		out = append(out, ifaceFromRow(r))
	}
	return out, nil
}
