package nb

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Names of containers on other hosts: each host's daemon keeps one DNS
// row per endpoint of its own, learned from its Docker engine, on the
// endpoint's switch. ovn-controller answers DNS queries from the switch's
// ports for those names, so a container's query that Docker's embedded
// DNS forwards (it knows only its own host's containers) is answered
// before it leaves the switch. DNS rows are root rows: each host deletes
// its own, and any host those whose endpoint's port is gone.

// chassisKey says which host's daemon keeps a DNS row.
const chassisKey = "docker:chassis"

// Names is one endpoint's names as OVN answers them.
type Names struct {
	EndpointID string
	NetworkID  string            // the host's Docker network, for its switch
	Records    map[string]string // lowercase name: "ipv4 ipv6"
}

// SyncNames makes this chassis' DNS rows exactly want, on their
// endpoints' switches, leaving those of the endpoints in keep as they are
// (their container could not be read this time); it removes rows of any
// chassis whose endpoint's port is gone or bound to another chassis now.
// One transaction, none when nothing changes; it returns how many rows it
// wrote and removed. One caller per chassis at a time: nothing guards two
// syncs of one chassis against each other.
func (c *Client) SyncNames(ctx context.Context, chassis string, want []Names, keep []string) (written, removed int, err error) {
	rows, err := conn.Select[*nbdb.DNS](ctx, c.Conn, nbdb.DNSTable, ours())
	if err != nil {
		return 0, 0, err
	}
	check := map[string]string{}
	for _, r := range rows {
		check[r.ExternalIDs[ovs.EndpointIDKey]] = r.ExternalIDs[chassisKey]
	}
	bound, err := c.boundEndpoints(ctx, check)
	if err != nil {
		return 0, 0, err
	}
	have, gone := sortNames(rows, chassis, bound, keep)
	var ops []ovsdb.Operation
	for i, w := range want {
		if bound[w.EndpointID] != chassis {
			continue // its port went, or moved, since the caller read it
		}
		more, err := c.namesOps(ctx, chassis, w, have[w.EndpointID], i)
		if err != nil {
			return 0, 0, err
		}
		if len(more) > 0 {
			ops, written = append(ops, more...), written+1
		}
		delete(have, w.EndpointID)
	}
	for _, r := range have {
		gone = append(gone, r.UUID)
	}
	ops = append(ops, dropOps(nbdb.LogicalSwitchTable, "dns_records", nbdb.DNSTable, gone)...)
	if len(ops) == 0 {
		return 0, 0, nil
	}
	if _, err := c.TransactIdempotent(ctx, ops...); err != nil {
		return 0, 0, c.Failed(err, "update the DNS names of this host's containers")
	}
	return written, len(gone), nil
}

// sortNames splits the DNS rows into this chassis' (by endpoint; those in
// keep left out) and those to remove: rows whose endpoint's port is gone
// or bound elsewhere, and second rows of one endpoint (a resent create).
func sortNames(rows []*nbdb.DNS, chassis string, bound map[string]string, keep []string) (map[string]*nbdb.DNS, []string) {
	have := map[string]*nbdb.DNS{}
	var gone []string
	for _, r := range rows {
		eid, owner := r.ExternalIDs[ovs.EndpointIDKey], r.ExternalIDs[chassisKey]
		switch {
		case bound[eid] != owner:
			gone = append(gone, r.UUID)
		case owner != chassis || slices.Contains(keep, eid):
		case have[eid] == nil:
			have[eid] = r
		default:
			gone = append(gone, r.UUID)
		}
	}
	return have, gone
}

// boundEndpoints maps each endpoint with a logical port to the chassis
// the port is bound to, as the cache has them: reading every host's ports
// from the server instead cost 10 MB of JSON per call at 10 000 endpoints
// (docs/benchmarks.md). The endpoints of check that the cache shows
// nowhere, or elsewhere than check says ("": anywhere), are read from the
// server, since a port made a moment ago, here or on another host, may not
// be in the cache yet: callers remove what has no port, and must not
// remove what a new port needs.
func (c *Client) boundEndpoints(ctx context.Context, check map[string]string) (map[string]string, error) {
	ports, err := conn.Shallow[*nbdb.LogicalSwitchPort](ctx, c.Conn, nbdb.LogicalSwitchPortTable)
	if err != nil {
		return nil, err
	}
	bound := map[string]string{}
	for _, p := range ports {
		bound[p.ExternalIDs[ovs.EndpointIDKey]] = portFromRow(p).Home()
	}
	var ops []ovsdb.Operation
	for eid, want := range check {
		if home, ok := bound[eid]; !ok || (want != "" && home != want) {
			ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.LogicalSwitchPortTable,
				Where: []ovsdb.Condition{endpointIs(eid), ours()}})
		}
	}
	if len(ops) == 0 {
		return bound, nil
	}
	res, err := c.TransactIdempotent(ctx, ops...)
	if err != nil {
		return nil, c.Failed(err, "read the logical ports of DNS names")
	}
	for _, r := range res {
		found, err := conn.Decode[*nbdb.LogicalSwitchPort](c.Conn, nbdb.LogicalSwitchPortTable, r.Rows)
		if err != nil {
			return nil, err
		}
		for _, p := range found {
			bound[p.ExternalIDs[ovs.EndpointIDKey]] = portFromRow(p).Home()
		}
	}
	return bound, nil
}

// namesOps writes w: a new row on its switch, or new records in row have;
// nothing when have already says it, or when its switch is gone.
func (c *Client) namesOps(ctx context.Context, chassis string, w Names, have *nbdb.DNS, i int) ([]ovsdb.Operation, error) {
	if have != nil {
		if maps.Equal(have.Records, w.Records) {
			return nil, nil
		}
		row := &nbdb.DNS{UUID: have.UUID, Records: w.Records}
		return c.DB().Where(row).Update(row, &row.Records)
	}
	sw, err := c.Switch(ctx, w.NetworkID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	row := &nbdb.DNS{UUID: "new_dns" + strconv.Itoa(i), Records: w.Records,
		ExternalIDs: ovs.Mark(map[string]string{ovs.EndpointIDKey: w.EndpointID, chassisKey: chassis})}
	ops, err := c.DB().Create(row)
	if err != nil {
		return nil, err
	}
	ls := &nbdb.LogicalSwitch{UUID: sw.UUID}
	more, err := c.DB().Where(ls).Mutate(ls, model.Mutation{Field: &ls.DNSRecords, Mutator: ovsdb.MutateOperationInsert,
		Value: []string{row.UUID}})
	return append(ops, more...), err
}
