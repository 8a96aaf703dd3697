package nb

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// A routed network (-o ovn.router=NAME) has its switch attached to the
// logical router NAME: a router port rtos-<switch> holds the network's
// gateway addresses, peered with a switch port stor-<switch> of type
// router. The router is made by the first network that names it and goes
// with the last one's switch, in the same transaction, guarded by the
// exact ports read, so a network joining never loses its router to one
// leaving. Routing is OVN's distributed kind: every chassis routes its own
// containers' packets.
const (
	routerKey       = "docker:router"
	routerSwitchKey = "docker:switch"
	newRouter       = "new_lr"
	newRouterPort   = "new_lrp"
	newSwitchPort   = "new_stor"
)

// RouterPortName is the router side of a switch's attachment.
func RouterPortName(switchName string) string { return "rtos-" + switchName }

// routerSwitchPortName is the switch side. It carries no owner mark: it is
// no endpoint, and it goes with the switch.
func routerSwitchPortName(switchName string) string { return "stor-" + switchName }

// routerMAC derives the router port's MAC from its first gateway, as OVN's
// own tools do (0a:58 and the address): containers' MACs start 02:42.
func routerMAC(gateways []string) (string, bool) {
	if len(gateways) == 0 {
		return "", false
	}
	p, err := netip.ParsePrefix(gateways[0])
	if err != nil {
		return "", false
	}
	b := p.Addr().AsSlice()
	b = b[len(b)-4:]
	return fmt.Sprintf("0a:58:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]), true
}

// attachOps creates the router port and its switch peer, and the router
// itself when have is nil.
func (c *Client) attachOps(s *Switch, have *nbdb.LogicalRouter) ([]ovsdb.Operation, error) {
	mac, ok := routerMAC(s.Gateways)
	if !ok {
		return nil, usererr.Errorf(nil, "give the network a gateway with --gateway",
			"network %s has no gateway address for its port on router %s", short(s.NetworkID), s.Router)
	}
	lrp := &nbdb.LogicalRouterPort{UUID: newRouterPort, Name: RouterPortName(s.Name), MAC: mac, Networks: s.Gateways,
		ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name})}
	ops, err := c.DB().Create(lrp)
	if err != nil {
		return nil, err
	}
	if have == nil {
		lr := &nbdb.LogicalRouter{UUID: newRouter, Name: s.Router, Ports: []string{newRouterPort},
			ExternalIDs: ovs.Mark(map[string]string{routerKey: s.Router})}
		more, err := c.DB().Create(lr)
		ops = append(ops, conn.Named(nbdb.LogicalRouterTable, false, s.Router))
		return append(ops, more...), err
	}
	lr := &nbdb.LogicalRouter{UUID: have.UUID}
	more, err := c.DB().Where(lr).Mutate(lr, model.Mutation{Field: &lr.Ports, Mutator: ovsdb.MutateOperationInsert,
		Value: []string{newRouterPort}})
	ops = append(ops, conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(have.UUID)}, ovsdb.Row{"name": s.Router}))
	return append(ops, more...), err
}

// switchPeerOps plugs the switch side of the attachment into switch s.
func (c *Client) switchPeerOps(s *Switch) ([]ovsdb.Operation, error) {
	lsp := &nbdb.LogicalSwitchPort{UUID: newSwitchPort, Name: routerSwitchPortName(s.Name), Type: "router",
		Addresses: []string{"router"}, Options: map[string]string{"router-port": RouterPortName(s.Name)}}
	ops, err := c.DB().Create(lsp)
	if err != nil {
		return nil, err
	}
	ls := &nbdb.LogicalSwitch{UUID: s.UUID}
	more, err := c.DB().Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationInsert,
		Value: []string{newSwitchPort}})
	// A mutation of no row succeeds: without the switch, the router port
	// would point at nothing.
	ops = append(ops, conn.Wait(nbdb.LogicalSwitchTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(s.UUID)}, ovsdb.Row{"name": s.Name}))
	return append(ops, more...), err
}

// EnsureRouterPort attaches switch s (read back, with its UUID) to the
// router it names, making the router if no network has yet; a switch
// attached already is success.
func (c *Client) EnsureRouterPort(ctx context.Context, s *Switch) error {
	for try := 0; try < joinTries; try++ {
		if lrps, err := conn.Select[*nbdb.LogicalRouterPort](ctx, c.Conn, nbdb.LogicalRouterPortTable,
			conn.NameIs(RouterPortName(s.Name))); err != nil || len(lrps) > 0 {
			return err
		}
		have, err := c.router(ctx, s.Router)
		if err != nil {
			return err
		}
		tx, err := c.NewTx(ctx)
		if err != nil {
			return err
		}
		tx.Add("router")(c.attachOps(s, have))
		tx.Add("switch")(c.switchPeerOps(s))
		if err := tx.Err(); err != nil {
			return err
		}
		_, err = c.TransactIdempotent(ctx, tx.Ops...)
		if tx.FailedIn(err, "router") || conn.IndexClash(err, "name") {
			continue // the router came or went, or another host attached this shared switch, meanwhile
		}
		if err != nil {
			return c.Failed(err, "attach network "+short(s.NetworkID)+" to logical router "+s.Router)
		}
		return nil
	}
	return usererr.Errorf(nil, "try again", "logical router %s kept changing while network %s joined it", s.Router, short(s.NetworkID))
}

// router reads the router named name from the server; nil if there is none.
// One that is not ours is refused: its routes are someone else's.
func (c *Client) router(ctx context.Context, name string) (*nbdb.LogicalRouter, error) {
	rows, err := conn.Select[*nbdb.LogicalRouter](ctx, c.Conn, nbdb.LogicalRouterTable, conn.NameIs(name))
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	if !ovs.Owned(rows[0].ExternalIDs) || rows[0].ExternalIDs[routerKey] != name {
		return nil, usererr.Errorf(ovs.ErrConflict, "choose another ovn.router name",
			"logical router %s already exists in the %s and is not ovn-docker's", name, c.Name())
	}
	return rows[0], nil
}

// detachOps takes switch s off its router, in the transaction that
// deletes the switch: the router port goes, and the router with its last
// port, guarded by the exact ports read (step "router" of the caller).
func (c *Client) detachOps(ctx context.Context, s *Switch) ([]ovsdb.Operation, error) {
	lrps, err := conn.Select[*nbdb.LogicalRouterPort](ctx, c.Conn, nbdb.LogicalRouterPortTable,
		conn.NameIs(RouterPortName(s.Name)), conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil || len(lrps) == 0 {
		return nil, err
	}
	port := lrps[0].UUID
	lrs, err := conn.Select[*nbdb.LogicalRouter](ctx, c.Conn, nbdb.LogicalRouterTable,
		conn.Includes("external_ids", ovs.Mark(nil)), ovsdb.Condition{Column: "ports", Function: ovsdb.ConditionIncludes,
			Value: ovsdb.OvsSet{GoSet: []any{ovsdb.UUID{GoUUID: port}}}})
	if err != nil || len(lrs) == 0 {
		return nil, err
	}
	lr := lrs[0]
	guard := conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual, []ovsdb.Condition{conn.UUIDIs(lr.UUID)},
		ovsdb.Row{"ports": uuidSet(lr.Ports)})
	if len(lr.Ports) == 1 {
		del, err := c.DB().Where(&nbdb.LogicalRouter{UUID: lr.UUID}).Delete()
		return append([]ovsdb.Operation{guard}, del...), err
	}
	m := &nbdb.LogicalRouter{UUID: lr.UUID}
	mut, err := c.DB().Where(m).Mutate(m, model.Mutation{Field: &m.Ports, Mutator: ovsdb.MutateOperationDelete,
		Value: []string{port}})
	return append([]ovsdb.Operation{guard}, mut...), err
}

func uuidSet(uuids []string) ovsdb.OvsSet {
	set := make([]any, 0, len(uuids))
	for _, u := range slices.Sorted(slices.Values(uuids)) {
		set = append(set, ovsdb.UUID{GoUUID: u})
	}
	return ovsdb.OvsSet{GoSet: set}
}

// Routers lists the driver's routers and their ports' switches.
func (c *Client) Routers(ctx context.Context) (map[string][]string, error) {
	lrs, err := conn.Select[*nbdb.LogicalRouter](ctx, c.Conn, nbdb.LogicalRouterTable, conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil {
		return nil, err
	}
	lrps, err := conn.Select[*nbdb.LogicalRouterPort](ctx, c.Conn, nbdb.LogicalRouterPortTable, conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil {
		return nil, err
	}
	switchOf := map[string]string{}
	for _, p := range lrps {
		switchOf[p.UUID] = p.ExternalIDs[routerSwitchKey]
	}
	out := map[string][]string{}
	for _, lr := range lrs {
		out[lr.Name] = []string{}
		for _, p := range lr.Ports {
			out[lr.Name] = append(out[lr.Name], switchOf[p])
		}
		slices.Sort(out[lr.Name])
	}
	return out, nil
}

// PruneRouters removes what a switch deleted behind ovn-docker's back (by
// hand, with ovn-nbctl) left on its router: the router port, and the
// router with its last port. Networks come and go with their router ports
// in one transaction, so nothing else leaves either. It returns the router
// ports removed.
func (c *Client) PruneRouters(ctx context.Context) ([]string, error) {
	lrps, err := conn.Select[*nbdb.LogicalRouterPort](ctx, c.Conn, nbdb.LogicalRouterPortTable, conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, p := range lrps {
		name := p.ExternalIDs[routerSwitchKey]
		switches, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.NameIs(name))
		if err != nil || len(switches) > 0 {
			if err != nil {
				return gone, err
			}
			continue
		}
		tx, err := c.NewTx(ctx)
		if err != nil {
			return gone, err
		}
		tx.Add("absent")(switchAbsent(name))
		tx.Add("router")(c.detachOps(ctx, &Switch{Name: name}))
		if err := tx.Err(); err != nil {
			return gone, err
		}
		_, err = c.TransactIdempotent(ctx, tx.Ops...)
		if tx.FailedIn(err, "absent") || tx.FailedIn(err, "router") {
			continue // changed meanwhile: the next pass looks again
		}
		if err != nil {
			return gone, c.Failed(err, "remove router port "+p.Name+" of a deleted switch")
		}
		gone = append(gone, p.Name)
	}
	return gone, c.pruneBareRouters(ctx)
}

// pruneBareRouters deletes routers left with no port at all (theirs
// removed by hand): a router is made with its first port, so none is bare
// while a network is being attached.
func (c *Client) pruneBareRouters(ctx context.Context) error {
	lrs, err := conn.Select[*nbdb.LogicalRouter](ctx, c.Conn, nbdb.LogicalRouterTable, conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil {
		return err
	}
	for _, lr := range lrs {
		if len(lr.Ports) > 0 {
			continue
		}
		tx, err := c.NewTx(ctx)
		if err != nil {
			return err
		}
		tx.Add("bare")(conn.Guard(conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual,
			[]ovsdb.Condition{conn.UUIDIs(lr.UUID)}, ovsdb.Row{"ports": uuidSet(nil)})))
		tx.Add("delete")(c.DB().Where(&nbdb.LogicalRouter{UUID: lr.UUID}).Delete())
		if err := tx.Err(); err != nil {
			return err
		}
		if _, err := c.TransactIdempotent(ctx, tx.Ops...); err != nil && !tx.FailedIn(err, "bare") {
			return c.Failed(err, "delete logical router "+lr.Name+", which has no port left")
		}
	}
	return nil
}
