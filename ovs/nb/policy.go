package nb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// A network's policy is enforced by OVN on every chassis, with ACLs on a
// port group holding the network's logical ports: the group and its ACLs
// are made in the transaction that makes the switch and go in the one
// that deletes it; each port joins the group in the transaction that makes
// it, and leaves it by being deleted (the group's references are weak).
// ICC is a drop ACL, which OVN applies without connection tracking;
// ovn.ingress=exposed allows what containers start as related, which puts
// the switch's traffic through it.
const (
	iccKey     = "docker:icc"
	ingressKey = "docker:ingress"
	policyKey  = "docker:policy"
	newPG      = "new_pg"
	newEPACL   = "new_acl_ep"
	// Priorities: the network's defaults at 1001, above OVN's default
	// allow (0); an endpoint's exposed ports over its inbound drop at
	// 1002; ICC's drop over all of them at 1003.
	aclPriority     = 1001
	aclPriorityOver = 1002
	aclPriorityICC  = 1003
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
	if s.Isolate {
		p = append(p, "isolate=true")
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
		acls = append(acls, iccACL(s, pg))
	}
	if s.Ingress == IngressExposed {
		acls = append(acls, exposedACLs(s.Name, pg)...)
	}
	// A group left by a switch deleted by hand would hold the name.
	ops := []ovsdb.Operation{conn.DeleteWhere(nbdb.PortGroupTable, conn.NameIs(pg), ours())}
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

// iccACL: between two ports of the network nothing IP passes, unicast,
// broadcast, multicast or link-local, whichever host each is on; ARP does
// (it carries nothing), and so do ND and MLD (OVN lets them through
// first). It drops as the packet enters its destination, on that port's
// chassis (@pg resolves to the ports bound on the chassis that evaluates
// it), and spares what comes through the router (the gateway, the
// outside, other networks) by the router port's MAC, which port security
// keeps every container from sending with. (ovn-controller installs
// nothing for an "inport != NAME" match.)
func iccACL(s Switch, pg string) *nbdb.ACL {
	match := fmt.Sprintf("outport == @%s && ip", pg)
	if mac, ok := routerMAC(s.Gateways); ok && s.Router != "" {
		match += " && eth.src != " + mac
	}
	return &nbdb.ACL{UUID: "new_acl_icc", Direction: nbdb.ACLDirectionToLport, Priority: aclPriorityICC, Action: nbdb.ACLActionDrop,
		Match: match, ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name, policyKey: "icc"})}
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
// when the network takes everything in, or p exposes nothing. The ports
// are sorted: engines list them in different orders, and CreateEndpoint's
// ACL must read as Join's for Join to write nothing.
func endpointACL(s *Switch, p Port) *nbdb.ACL {
	if s.Ingress != IngressExposed || len(p.Exposed) == 0 {
		return nil
	}
	var ports []string
	for _, e := range p.Exposed {
		ports = append(ports, fmt.Sprintf("%s.dst == %d", e.Proto, e.Port))
	}
	slices.Sort(ports)
	ports = slices.Compact(ports)
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
	tx, err := c.NewTx(ctx)
	if err != nil {
		return err
	}
	tx.Add("group")(groupPresent(s))
	tx.Add("old")(dropACLOps(old), nil)
	tx.Add("new")(c.endpointACLOps(s, p))
	if err := tx.Err(); err != nil {
		return err
	}
	_, err = c.TransactIdempotent(ctx, tx.Ops...)
	switch {
	case tx.FailedIn(err, "group"):
		return c.groupGone(s)
	case err != nil:
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
	return dropOps(nbdb.PortGroupTable, "acls", "", uuids)
}

// groupPresent fails the transaction (step "group") unless the switch's
// port group is there: a port missing from it would escape the policy.
func groupPresent(s *Switch) ([]ovsdb.Operation, error) {
	if !s.hasPolicy() {
		return nil, nil
	}
	return conn.Guard(conn.Named(nbdb.PortGroupTable, true, PortGroupName(s.Name), ours()))
}

// groupGone is the sentence for a switch whose port group went.
func (c *Client) groupGone(s *Switch) error {
	return usererr.Errorf(ovs.ErrNotFound, "remove the network and create it again",
		"port group %s, which holds the policy of network %s, is gone from the %s", PortGroupName(s.Name), short(s.NetworkID), c.Name())
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
	sws, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, ours())
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, sw := range sws {
		have[sw.Name] = true
	}
	for _, pg := range pgs {
		if !have[pg.ExternalIDs[routerSwitchKey]] {
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
	check := map[string]string{}
	for _, a := range acls {
		if eid := a.ExternalIDs[ovs.EndpointIDKey]; eid != "" {
			check[eid] = ""
		}
	}
	bound, err := c.boundEndpoints(ctx, check)
	if err != nil {
		return nil, nil, err
	}
	var gone, uuids []string
	for _, a := range acls {
		eid := a.ExternalIDs[ovs.EndpointIDKey]
		if _, live := bound[eid]; eid != "" && !live {
			gone, uuids = append(gone, "ACL of endpoint "+short(eid)), append(uuids, a.UUID)
		}
	}
	return gone, dropACLOps(uuids), nil
}
