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
// itself when have is nil, with its uplink when up is set; ip is the
// router's uplink address, if it has one, to translate the switch's
// subnets to.
func (c *Client) attachOps(s *Switch, have *nbdb.LogicalRouter, up *uplink, ip netip.Addr) ([]ovsdb.Operation, error) {
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
	var rows attached
	if ip.IsValid() {
		more, uuids, err := c.natOps(s, ip, 0)
		if err != nil {
			return nil, err
		}
		ops, rows.nats = append(ops, more...), uuids
	}
	more, uuids, err := c.isolateOps(s)
	if err != nil {
		return nil, err
	}
	ops, rows.policies = append(ops, more...), uuids
	if have == nil {
		return c.newRouterOps(s.Router, ops, rows, up)
	}
	lr := &nbdb.LogicalRouter{UUID: have.UUID}
	muts := []model.Mutation{{Field: &lr.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{newRouterPort}}}
	if len(rows.nats) > 0 {
		muts = append(muts, model.Mutation{Field: &lr.Nat, Mutator: ovsdb.MutateOperationInsert, Value: rows.nats})
	}
	if len(rows.policies) > 0 {
		muts = append(muts, model.Mutation{Field: &lr.Policies, Mutator: ovsdb.MutateOperationInsert, Value: rows.policies})
	}
	more, err = c.DB().Where(lr).Mutate(lr, muts...)
	ops = append(ops, conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(have.UUID)}, ovsdb.Row{"name": s.Router}))
	return append(ops, more...), err
}

// attached names the rows a network's attachment adds to its router
// besides the port: NAT to the uplink, isolation policies.
type attached struct{ nats, policies []string }

// newRouterOps makes the router, guarded by its absence, with the port
// (and the rows) ops made and, when up is set, its uplink.
func (c *Client) newRouterOps(name string, ops []ovsdb.Operation, rows attached, up *uplink) ([]ovsdb.Operation, error) {
	lr := &nbdb.LogicalRouter{UUID: newRouter, Name: name, Ports: []string{newRouterPort}, Nat: rows.nats,
		Policies: rows.policies, ExternalIDs: ovs.Mark(map[string]string{routerKey: name})}
	if up != nil {
		more, err := c.uplinkOps(name, up)
		if err != nil {
			return nil, err
		}
		ops = append(ops, more...)
		lr.Ports, lr.StaticRoutes = append(lr.Ports, newUplink), []string{newRoute}
	}
	more, err := c.DB().Create(lr)
	ops = append(ops, conn.Named(nbdb.LogicalRouterTable, false, name))
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
		up, ip, err := c.uplinkOf(ctx, s.Router, have)
		if err != nil {
			return err
		}
		tx, err := c.NewTx(ctx)
		if err != nil {
			return err
		}
		tx.Add("router")(c.attachOps(s, have, up, ip))
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

// uplinkOf is a new router's uplink to be (nil without an outside), or an
// existing router's uplink address (invalid if it has none).
func (c *Client) uplinkOf(ctx context.Context, router string, have *nbdb.LogicalRouter) (*uplink, netip.Addr, error) {
	if have != nil {
		ip, err := c.uplinkIP(ctx, router)
		return nil, ip, err
	}
	up, err := c.newUplinkFor(ctx)
	if up == nil || err != nil {
		return nil, netip.Addr{}, err
	}
	return up, up.ip, nil
}

// ownedRouters and ownedRouterPorts read the driver's routers and router
// ports from the server: they are not monitored.
func (c *Client) ownedRouters(ctx context.Context) ([]*nbdb.LogicalRouter, error) {
	return conn.Select[*nbdb.LogicalRouter](ctx, c.Conn, nbdb.LogicalRouterTable, ours())
}

func (c *Client) ownedRouterPorts(ctx context.Context) ([]*nbdb.LogicalRouterPort, error) {
	return conn.Select[*nbdb.LogicalRouterPort](ctx, c.Conn, nbdb.LogicalRouterPortTable, ours())
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
		conn.NameIs(RouterPortName(s.Name)), ours())
	if err != nil || len(lrps) == 0 {
		return nil, err
	}
	port := lrps[0].UUID
	lrs, err := conn.Select[*nbdb.LogicalRouter](ctx, c.Conn, nbdb.LogicalRouterTable,
		ours(), ovsdb.Condition{Column: "ports", Function: ovsdb.ConditionIncludes,
			Value: ovsdb.OvsSet{GoSet: []any{ovsdb.UUID{GoUUID: port}}}})
	if err != nil || len(lrs) == 0 {
		return nil, err
	}
	lr := lrs[0]
	ops := []ovsdb.Operation{conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual, []ovsdb.Condition{conn.UUIDIs(lr.UUID)},
		ovsdb.Row{"ports": uuidSet(lr.Ports)})}
	uplinkIP, err := c.uplinkIP(ctx, lr.Name)
	if err != nil {
		return nil, err
	}
	networks := len(lr.Ports)
	if uplinkIP.IsValid() {
		networks--
	}
	if networks <= 1 {
		// Its port, uplink, routes and NAT rows go with it; the uplink's
		// peer on the external switch is the switch's.
		del, err := c.DB().Where(&nbdb.LogicalRouter{UUID: lr.UUID}).Delete()
		if err != nil {
			return nil, err
		}
		more, err := c.unplugUplinkOps(ctx, lr.Name)
		return append(append(ops, del...), more...), err
	}
	nats, err := switchRowsIn[*nbdb.NAT](ctx, c, nbdb.NATTable, s.Name, lr.Nat)
	if err != nil {
		return nil, err
	}
	policies, err := switchRowsIn[*nbdb.LogicalRouterPolicy](ctx, c, nbdb.LogicalRouterPolicyTable, s.Name, lr.Policies)
	if err != nil {
		return nil, err
	}
	m := &nbdb.LogicalRouter{UUID: lr.UUID}
	muts := []model.Mutation{{Field: &m.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{port}}}
	if len(nats) > 0 {
		muts = append(muts, model.Mutation{Field: &m.Nat, Mutator: ovsdb.MutateOperationDelete, Value: nats})
	}
	if len(policies) > 0 {
		muts = append(muts, model.Mutation{Field: &m.Policies, Mutator: ovsdb.MutateOperationDelete, Value: policies})
	}
	mut, err := c.DB().Where(m).Mutate(m, muts...)
	return append(ops, mut...), err
}

// unplugUplinkOps takes a router's uplink peer off the external switch.
func (c *Client) unplugUplinkOps(ctx context.Context, router string) ([]ovsdb.Operation, error) {
	peers, err := conn.Select[*nbdb.LogicalSwitchPort](ctx, c.Conn, nbdb.LogicalSwitchPortTable, conn.NameIs(uplinkPeerName(router)))
	if err != nil || len(peers) == 0 {
		return nil, err
	}
	exts, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.NameIs(ExternalSwitch))
	if err != nil || len(exts) == 0 {
		return nil, err
	}
	ext := &nbdb.LogicalSwitch{UUID: exts[0].UUID}
	return c.DB().Where(ext).Mutate(ext, model.Mutation{Field: &ext.Ports, Mutator: ovsdb.MutateOperationDelete,
		Value: []string{peers[0].UUID}})
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
	lrs, err := c.ownedRouters(ctx)
	if err != nil {
		return nil, err
	}
	lrps, err := c.ownedRouterPorts(ctx)
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
			if switchOf[p] != "" { // not the uplink
				out[lr.Name] = append(out[lr.Name], switchOf[p])
			}
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
	lrps, err := c.ownedRouterPorts(ctx)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, p := range lrps {
		name := p.ExternalIDs[routerSwitchKey]
		if name == "" {
			continue // an uplink: it goes with its router
		}
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

// pruneBareRouters deletes routers left with no network's port (theirs
// removed by hand): a router is made with its first port, so none is bare
// while a network is being attached.
func (c *Client) pruneBareRouters(ctx context.Context) error {
	lrs, err := c.ownedRouters(ctx)
	if err != nil {
		return err
	}
	for _, lr := range lrs {
		ip, err := c.uplinkIP(ctx, lr.Name)
		if err != nil {
			return err
		}
		if n := len(lr.Ports); n > 1 || (n == 1 && !ip.IsValid()) {
			continue
		}
		tx, err := c.NewTx(ctx)
		if err != nil {
			return err
		}
		tx.Add("bare")(conn.Guard(conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual,
			[]ovsdb.Condition{conn.UUIDIs(lr.UUID)}, ovsdb.Row{"ports": uuidSet(lr.Ports)})))
		tx.Add("delete")(c.DB().Where(&nbdb.LogicalRouter{UUID: lr.UUID}).Delete())
		tx.Add("uplink")(c.unplugUplinkOps(ctx, lr.Name))
		if err := tx.Err(); err != nil {
			return err
		}
		if _, err := c.TransactIdempotent(ctx, tx.Ops...); err != nil && !tx.FailedIn(err, "bare") {
			return c.Failed(err, "delete logical router "+lr.Name+", which has no port left")
		}
	}
	return nil
}
