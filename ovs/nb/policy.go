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
	iccKey    = "docker:icc"
	policyKey = "docker:policy"
	newPG     = "new_pg"
	// aclPriority sits above anything default (OVN's own default-allow is
	// 0) and leaves room for allow rules above it.
	aclPriority = 1001
)

// PortGroupName is the switch's port group: port group names are
// identifiers in ACL matches (letters, digits, '_' and '.'), so '_' and
// '-' are escaped to keep names of different switches apart.
func PortGroupName(switchName string) string {
	return "docker_" + strings.NewReplacer("_", "__", "-", "_d").Replace(switchName)
}

// hasPolicy: the switch needs a port group.
func (s Switch) hasPolicy() bool { return s.NoICC }

// Policy says the network's policy as status shows it.
func (s Switch) Policy() string {
	if s.NoICC {
		return "icc=false"
	}
	return ""
}

// policyOps makes the switch's port group with the ACLs of its policy.
func (c *Client) policyOps(s Switch) ([]ovsdb.Operation, error) {
	if !s.hasPolicy() {
		return nil, nil
	}
	pg := PortGroupName(s.Name)
	// Between two ports of the network nothing IP passes, whichever host
	// each is on; the router's port is no member, so the gateway and what
	// it routes still do. ARP passes: it carries nothing. Dropped as it
	// leaves its port: ovn-controller resolves @pg to the ports bound on
	// its own chassis, so a port of another host is matched by address,
	// from the sets northd keeps of the group's addresses (which port
	// security holds the containers to).
	acl := &nbdb.ACL{UUID: "new_acl_icc", Direction: nbdb.ACLDirectionFromLport, Priority: aclPriority, Action: nbdb.ACLActionDrop,
		Match:       fmt.Sprintf("inport == @%s && (ip4.dst == $%s_ip4 || ip6.dst == $%s_ip6)", pg, pg, pg),
		ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name, policyKey: "icc"})}
	ops, err := c.DB().Create(acl)
	if err != nil {
		return nil, err
	}
	more, err := c.DB().Create(&nbdb.PortGroup{UUID: newPG, Name: pg, ACLs: []string{acl.UUID},
		ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name})})
	return append(ops, more...), err
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
// deleted by hand, or by a daemon older than policies).
func (c *Client) PrunePortGroups(ctx context.Context) ([]string, error) {
	pgs, err := conn.Select[*nbdb.PortGroup](ctx, c.Conn, nbdb.PortGroupTable, ours())
	if err != nil || len(pgs) == 0 {
		return nil, err
	}
	var gone []string
	var ops []ovsdb.Operation
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
