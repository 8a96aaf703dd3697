// Package nb is the OVN Northbound database as Docker's networks and
// endpoints see it: a network is a Logical_Switch, an endpoint a
// Logical_Switch_Port. One file per table; in each, typed builders return
// the operations of one step, and the exported calls compose them into one
// checked transaction per action.
package nb

import (
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Client is the driver's handle on the Northbound database.
type Client struct {
	*conn.Conn
	chassis *chassisState
}

// dbModel lists only the tables used, so a newer NB schema with more
// tables still validates against it; the client index finds a network's
// switch without a scan.
func dbModel() (model.ClientDBModel, error) {
	m, err := model.NewClientDBModel("OVN_Northbound", map[string]model.Model{
		nbdb.LogicalSwitchTable:     &nbdb.LogicalSwitch{},
		nbdb.LogicalSwitchPortTable: &nbdb.LogicalSwitchPort{},
		nbdb.AddressSetTable:        &nbdb.AddressSet{},
		nbdb.NBGlobalTable:          &nbdb.NBGlobal{},
		// Routers are read from the server, never monitored: few, and
		// read only when a routed network comes or goes.
		nbdb.LogicalRouterTable:            &nbdb.LogicalRouter{},
		nbdb.LogicalRouterPortTable:        &nbdb.LogicalRouterPort{},
		nbdb.GatewayChassisTable:           &nbdb.GatewayChassis{},
		nbdb.LogicalRouterStaticRouteTable: &nbdb.LogicalRouterStaticRoute{},
		nbdb.NATTable:                      &nbdb.NAT{},
		nbdb.LogicalRouterPolicyTable:      &nbdb.LogicalRouterPolicy{},
		nbdb.LoadBalancerTable:             &nbdb.LoadBalancer{},
		nbdb.DNSTable:                      &nbdb.DNS{},
		nbdb.PortGroupTable:                &nbdb.PortGroup{},
		nbdb.ACLTable:                      &nbdb.ACL{},
	})
	if err != nil {
		return m, err
	}
	m.SetIndexes(map[string][]model.ClientIndex{
		nbdb.LogicalSwitchTable: {{Columns: []model.ColumnKey{{Column: "external_ids", Key: ovs.NetworkIDKey}}}},
	})
	return m, nil
}

// New prepares a Northbound client; Run connects it. Its cache follows
// only rows carrying our mark, and only the columns used: what other
// software keeps in the same NB (ovn-kubernetes' thousands of ports) costs
// this daemon nothing per call.
func New(cfg conn.Config) (*Client, error) {
	m, err := dbModel()
	if err != nil {
		return nil, err
	}
	ls, lsp, as, g := &nbdb.LogicalSwitch{}, &nbdb.LogicalSwitchPort{}, &nbdb.AddressSet{}, &nbdb.NBGlobal{}
	c, err := conn.New("OVN northbound database", "--nb", m, cfg,
		client.WithConditionalTable(ls, owned(&ls.ExternalIDs), &ls.Name, &ls.Ports, &ls.ExternalIDs),
		client.WithConditionalTable(lsp, owned(&lsp.ExternalIDs), &lsp.Name, &lsp.Addresses, &lsp.PortSecurity,
			&lsp.Options, &lsp.ExternalIDs, &lsp.Up, &lsp.ParentName, &lsp.Tag),
		client.WithConditionalTable(as, owned(&as.ExternalIDs), &as.Name, &as.Addresses, &as.ExternalIDs),
		client.WithTable(g, &g.NbCfg),
	)
	if err != nil {
		return nil, err
	}
	return &Client{Conn: c, chassis: &chassisState{}}, nil
}

// owned is the monitor condition that follows only our rows.
func owned(field *map[string]string) []model.Condition {
	return []model.Condition{{Field: field, Function: ovsdb.ConditionIncludes,
		Value: map[string]string{ovs.OwnerKey: ovs.OwnerValue}}}
}

// ours is the server-side condition on every row of the driver's.
func ours() ovsdb.Condition { return conn.Includes("external_ids", ovs.Mark(nil)) }

// ownedBy is the server-side condition on a network's rows.
func ownedBy(networkID string) ovsdb.Condition {
	return conn.Includes("external_ids", ovs.Mark(map[string]string{ovs.NetworkIDKey: networkID}))
}

// dropOps takes rows uuids out of column of every row of ours in parent,
// then, when table is given, deletes them there (root rows are not
// garbage-collected). A row already gone is no error. Unlinking first
// keeps a strong reference from failing the delete, and a weak one from
// naming a missing row for an instant.
func dropOps(parent, column, table string, uuids []string) []ovsdb.Operation {
	if len(uuids) == 0 {
		return nil
	}
	ops := []ovsdb.Operation{{Op: ovsdb.OperationMutate, Table: parent, Where: []ovsdb.Condition{ours()},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation(column, ovsdb.MutateOperationDelete, uuidSet(uuids))}}}
	if table == "" {
		return ops
	}
	for _, u := range uuids {
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationDelete, Table: table, Where: []ovsdb.Condition{conn.UUIDIs(u)}})
	}
	return ops
}

// short is the prefix Docker shows of an ID (docker network ls).
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
