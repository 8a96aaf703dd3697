package nb

import (
	"context"
	"fmt"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// A network's policy is enforced by OVN on every chassis, with ACLs on a
// port group holding the network's logical ports: the group and its ACLs
// are made in the transaction that makes the switch and go in the one
// that deletes it; each port joins the group in the transaction that makes
// it, and leaves it by being deleted (the group's references are weak).
// Only drop ACLs so far, which OVN applies without connection tracking.
const (
	iccKey     = "docker:icc"
	ingressKey = "docker:ingress"
	policyKey  = "docker:policy"
	newPG      = "new_pg"
	newEPACL   = "new_acl_ep"
	// Priorities: the network's defaults at 1001, above OVN's default
	// allow (0); what overrides them at 1002: ICC's drop over the
	// network's own outbound allow, an endpoint's exposed ports over the
	// network's inbound drop.
	aclPriority     = 1001
	aclPriorityOver = 1002
)

// IngressExposed: containers accept connections only on their exposed
// ports.
const IngressExposed = "exposed"

// Exposed is a port a container accepts connections on.
type Exposed struct {
	Proto string // tcp, udp or sctp
	Port  uint16
}

// PortGroupName is the switch's port group: port group names are
// identifiers in ACL matches (letters, digits, '_' and '.'), so '_' and
// '-' are escaped to keep names of different switches apart.
func PortGroupName(switchName string) string {
	return "docker_" + strings.NewReplacer("_", "__", "-", "_d").Replace(switchName)
}

// hasPolicy: the switch needs a port group.
func (s Switch) hasPolicy() bool { return s.NoICC || s.Ingress == IngressExposed }

// Policy says the network's policy as status shows it.
func (s Switch) Policy() string {
	var p []string
	if s.NoICC {
		p = append(p, "icc=false")
	}
	if s.Ingress != "" {
		p = append(p, "ingress="+s.Ingress)
	}
	return strings.Join(p, ",")
}

// policyOps makes the switch's port group with the ACLs of its policy.
func (c *Client) policyOps(s Switch) ([]ovsdb.Operation, error) {
	if !s.hasPolicy() {
		return nil, nil
	}
	pg := PortGroupName(s.Name)
	var acls []*nbdb.ACL
	if s.NoICC {
		acls = append(acls, iccACL(s.Name, pg))
	}
	if s.Ingress == IngressExposed {
		acls = append(acls, exposedACLs(s.Name, pg)...)
	}
	var ops []ovsdb.Operation
	var uuids []string
	for _, acl := range acls {
		more, err := c.DB().Create(acl)
		if err != nil {
			return nil, err
		}
		ops, uuids = append(ops, more...), append(uuids, acl.UUID)
	}
	more, err := c.DB().Create(&nbdb.PortGroup{UUID: newPG, Name: pg, ACLs: uuids,
		ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name})})
	return append(ops, more...), err
}

func iccACL(sw, pg string) *nbdb.ACL {
	// Between two ports of the network nothing IP passes, whichever host
	// each is on; the router's port is no member, so the gateway and what
	// it routes still do. ARP passes: it carries nothing. Dropped as it
	// leaves its port: ovn-controller resolves @pg to the ports bound on
	// its own chassis, so a port of another host is matched by address,
	// from the sets northd keeps of the group's addresses (which port
	// security holds the containers to).
	return &nbdb.ACL{UUID: "new_acl_icc", Direction: nbdb.ACLDirectionFromLport, Priority: aclPriorityOver, Action: nbdb.ACLActionDrop,
		Match:       fmt.Sprintf("inport == @%s && (ip4.dst == $%s_ip4 || ip6.dst == $%s_ip6)", pg, pg, pg),
		ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: sw, policyKey: "icc"})}
}

// exposedACLs: nothing IP enters a port of the network but what an
// endpoint's own ACL lets in; what a container sends is allowed and
// tracked (allow-related), so the replies come back in. The switch thus
// runs connection tracking. ARP and ND pass (OVN lets ND through first).
func exposedACLs(sw, pg string) []*nbdb.ACL {
	ids := func() map[string]string {
		return ovs.Mark(map[string]string{routerSwitchKey: sw, policyKey: "ingress"})
	}
	return []*nbdb.ACL{
		{UUID: "new_acl_in", Direction: nbdb.ACLDirectionToLport, Priority: aclPriority, Action: nbdb.ACLActionDrop,
			Match: fmt.Sprintf("outport == @%s && ip", pg), ExternalIDs: ids()},
		{UUID: "new_acl_out", Direction: nbdb.ACLDirectionFromLport, Priority: aclPriority, Action: nbdb.ACLActionAllowRelated,
			Match: fmt.Sprintf("inport == @%s && ip", pg), ExternalIDs: ids()},
	}
}

// endpointACL lets connections in to p's exposed ports, from anywhere; nil
// when the network takes everything in, or p exposes nothing.
func endpointACL(s *Switch, p Port) *nbdb.ACL {
	if s.Ingress != IngressExposed || len(p.Exposed) == 0 {
		return nil
	}
	var ports []string
	for _, e := range p.Exposed {
		ports = append(ports, fmt.Sprintf("%s.dst == %d", e.Proto, e.Port))
	}
	return &nbdb.ACL{UUID: newEPACL, Direction: nbdb.ACLDirectionToLport, Priority: aclPriorityOver, Action: nbdb.ACLActionAllowRelated,
		Match:       fmt.Sprintf("outport == %q && (%s)", p.Name, strings.Join(ports, " || ")),
		ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name, ovs.EndpointIDKey: p.EndpointID})}
}

// endpointACLOps adds p's ACL, if it has one, to the switch's port group.
func (c *Client) endpointACLOps(s *Switch, p Port) ([]ovsdb.Operation, error) {
	acl := endpointACL(s, p)
	if acl == nil {
		return nil, nil
	}
	ops, err := c.DB().Create(acl)
	if err != nil {
		return nil, err
	}
	return append(ops, ovsdb.Operation{Op: ovsdb.OperationMutate, Table: nbdb.PortGroupTable,
		Where:     []ovsdb.Condition{conn.NameIs(PortGroupName(s.Name)), ours()},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("acls", ovsdb.MutateOperationInsert, uuidSet([]string{acl.UUID}))}}), nil
}

// EnsureExposed makes the ACL letting connections in to p's exposed ports
// what p.Exposed says, on a network that takes in only those: Docker
// sends them in Join (current engines send --expose ones nowhere else). A
// retried Join changes nothing; the ACL goes with the port.
func (c *Client) EnsureExposed(ctx context.Context, s *Switch, p Port) error {
	if s.Ingress != IngressExposed {
		return nil
	}
	rows, err := conn.Select[*nbdb.ACL](ctx, c.Conn, nbdb.ACLTable, ours(), endpointIs(p.EndpointID))
	if err != nil {
		return err
	}
	want := endpointACL(s, p)
	if len(rows) == 0 && want == nil || len(rows) == 1 && want != nil && rows[0].Match == want.Match {
		return nil
	}
	var old []string
	for _, r := range rows {
		old = append(old, r.UUID)
	}
	ops, err := c.endpointACLOps(s, p)
	if err != nil {
		return err
	}
	if _, err := c.TransactIdempotent(ctx, append(dropACLOps(old), ops...)...); err != nil {
		return c.Failed(err, "let connections in to the exposed ports of endpoint "+short(p.EndpointID))
	}
	return nil
}

// endpointACLs reads the ACLs of an endpoint.
func (c *Client) endpointACLs(ctx context.Context, endpointID string) ([]string, error) {
	rows, err := conn.Select[*nbdb.ACL](ctx, c.Conn, nbdb.ACLTable, ours(), endpointIs(endpointID))
	if err != nil {
		return nil, err
	}
	var uuids []string
	for _, r := range rows {
		uuids = append(uuids, r.UUID)
	}
	return uuids, nil
}

// dropACLOps takes ACLs off every port group of ours; OVN deletes them,
// being no root rows.
func dropACLOps(uuids []string) []ovsdb.Operation {
	if len(uuids) == 0 {
		return nil
	}
	return []ovsdb.Operation{{Op: ovsdb.OperationMutate, Table: nbdb.PortGroupTable, Where: []ovsdb.Condition{ours()},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("acls", ovsdb.MutateOperationDelete, uuidSet(uuids))}}}
}

// joinGroupOps adds the port named port (a named UUID) to the switch's
// port group.
func joinGroupOps(s *Switch, port string) []ovsdb.Operation {
	if !s.hasPolicy() {
		return nil
	}
	return []ovsdb.Operation{{Op: ovsdb.OperationMutate, Table: nbdb.PortGroupTable,
		Where:     []ovsdb.Condition{conn.NameIs(PortGroupName(s.Name)), ours()},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationInsert, uuidSet([]string{port}))}}}
}

// dropGroupOps deletes the switch's port group; its ACLs go with it (they
// are no root rows).
func dropGroupOps(s *Switch) []ovsdb.Operation {
	return []ovsdb.Operation{conn.DeleteWhere(nbdb.PortGroupTable, conn.NameIs(PortGroupName(s.Name)), ours())}
}

// PrunePortGroups removes port groups of ours whose switch is gone (one
// deleted by hand, or by a daemon older than policies), and endpoints'
// ACLs whose port is gone (deleted by hand).
func (c *Client) PrunePortGroups(ctx context.Context) ([]string, error) {
	pgs, err := conn.Select[*nbdb.PortGroup](ctx, c.Conn, nbdb.PortGroupTable, ours())
	if err != nil || len(pgs) == 0 {
		return nil, err
	}
	gone, ops, err := c.orphanACLs(ctx)
	if err != nil {
		return nil, err
	}
	for _, pg := range pgs {
		sws, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.NameIs(pg.ExternalIDs[routerSwitchKey]))
		if err != nil {
			return nil, err
		}
		if len(sws) == 0 {
			gone = append(gone, pg.Name)
			ops = append(ops, conn.DeleteWhere(nbdb.PortGroupTable, conn.UUIDIs(pg.UUID)))
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	if _, err := c.TransactIdempotent(ctx, ops...); err != nil {
		return nil, c.Failed(err, "remove the port groups of removed networks")
	}
	return gone, nil
}

// orphanACLs finds endpoints' ACLs whose port is gone, read before the
// ports, so one made meanwhile finds its port.
func (c *Client) orphanACLs(ctx context.Context) ([]string, []ovsdb.Operation, error) {
	acls, err := conn.Select[*nbdb.ACL](ctx, c.Conn, nbdb.ACLTable, ours())
	if err != nil {
		return nil, nil, err
	}
	bound, err := c.boundEndpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	var gone, uuids []string
	for _, a := range acls {
		if eid := a.ExternalIDs[ovs.EndpointIDKey]; eid != "" && bound[eid] == "" {
			gone, uuids = append(gone, "ACL of endpoint "+short(eid)), append(uuids, a.UUID)
		}
	}
	return gone, dropACLOps(uuids), nil
}
