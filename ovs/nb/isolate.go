package nb

import (
	"context"
	"fmt"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// An isolated routed network (ovn.isolate=true) reaches the outside
// through its router but no other network on it, and none reaches it.
// Two Logical_Router_Policy rows on the router say so by router port,
// which the router knows on every chassis (routing is distributed, so
// each host drops its own containers' packets): a drop of whatever
// enters or leaves through the network's port, under an allow of what
// goes between that port and the uplink (both ways: replies, published
// ports) or back out through the same port (a container reaching a
// neighbour's published port). The rows name the uplink before the
// router has one: ovn-controller resolves the name once the port exists.
// They are made with the router port and go with it; the router holds
// them strongly, so a router deleted takes them along.
const (
	isolateKey           = "docker:isolate"
	newIsolateAllow      = "new_lrpol_allow"
	newIsolateDrop       = "new_lrpol_drop"
	isolatePriorityAllow = 1001
	isolatePriorityDrop  = 1000
)

// isolatePolicies are the router policies isolating switch s.
func isolatePolicies(s *Switch) []*nbdb.LogicalRouterPolicy {
	port, up := RouterPortName(s.Name), UplinkPortName(s.Router)
	ids := func() map[string]string {
		return ovs.Mark(map[string]string{routerSwitchKey: s.Name, policyKey: "isolate"})
	}
	return []*nbdb.LogicalRouterPolicy{
		{UUID: newIsolateAllow, Priority: isolatePriorityAllow, Action: nbdb.LogicalRouterPolicyActionAllow,
			Match: fmt.Sprintf("(inport == %q && (outport == %q || outport == %q)) || (inport == %q && outport == %q)",
				port, port, up, up, port),
			ExternalIDs: ids()},
		{UUID: newIsolateDrop, Priority: isolatePriorityDrop, Action: nbdb.LogicalRouterPolicyActionDrop,
			Match: fmt.Sprintf("inport == %q || outport == %q", port, port), ExternalIDs: ids()},
	}
}

// isolateOps creates s's policies, if it is isolated, and names them for
// the router's policies column.
func (c *Client) isolateOps(s *Switch) ([]ovsdb.Operation, []string, error) {
	if !s.Isolate {
		return nil, nil, nil
	}
	var ops []ovsdb.Operation
	var uuids []string
	for _, p := range isolatePolicies(s) {
		more, err := c.DB().Create(p)
		if err != nil {
			return nil, nil, err
		}
		ops, uuids = append(ops, more...), append(uuids, p.UUID)
	}
	return ops, uuids, nil
}

// switchRowsIn lists the rows of table, marked as switch sw's, that are among
// in (a router's NAT rows or policies).
func switchRowsIn[T interface{ GetUUID() string }](ctx context.Context, c *Client, table, sw string, in []string) ([]string, error) {
	rows, err := conn.Select[T](ctx, c.Conn, table, conn.Includes("external_ids", ovs.Mark(map[string]string{routerSwitchKey: sw})))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		if slices.Contains(in, r.GetUUID()) {
			out = append(out, r.GetUUID())
		}
	}
	return out, nil
}
