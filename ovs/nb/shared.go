package nb

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// A shared switch (ovn.network=NAME) is named NAME and carries
// docker:network=NAME; each host's Docker network on it is a key
// docker:ref:<network ID>@<chassis> whose value lists that network's
// --aux-address reservations. The switch goes when the last reference
// does, in a transaction guarded by the exact external_ids read, so two
// hosts leaving at once never leave it behind with no reference, and a
// host leaving never deletes it under one joining.
const (
	sharedKey = "docker:network"
	refPrefix = "docker:ref:"
)

// joinTries bounds how often a join or leave starts over because another
// host changed the switch between the read and the transaction.
const joinTries = 8

func (r Ref) key() string { return refPrefix + r.NetworkID + "@" + r.Chassis }

func refsOf(ids map[string]string) []Ref {
	var refs []Ref
	for _, k := range slices.Sorted(maps.Keys(ids)) {
		rest, ok := strings.CutPrefix(k, refPrefix)
		if !ok {
			continue
		}
		id, chassis, _ := strings.Cut(rest, "@")
		refs = append(refs, Ref{NetworkID: id, Chassis: chassis, Aux: SplitList(ids[k])})
	}
	return refs
}

// hasRef reports whether the switch row is used by Docker network id.
func hasRef(ls *nbdb.LogicalSwitch, id string) bool {
	for k := range ls.ExternalIDs {
		if rest, ok := strings.CutPrefix(k, refPrefix+id); ok && strings.HasPrefix(rest, "@") {
			return true
		}
	}
	return false
}

// sameAs fails the transaction unless the switch's external_ids are still
// exactly ids: the guard of every change to a shared switch's references.
func sameAs(uuid string, ids map[string]string) ([]ovsdb.Operation, error) {
	return conn.Guard(conn.Wait(nbdb.LogicalSwitchTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(uuid)}, ovsdb.Row{"external_ids": conn.StrMap(ids)}))
}

// setRef adds (or, with del, removes) one reference.
func (c *Client) setRef(uuid string, r Ref, del bool) ([]ovsdb.Operation, error) {
	ls := &nbdb.LogicalSwitch{UUID: uuid}
	if del {
		return c.DB().Where(ls).Mutate(ls, model.Mutation{Field: &ls.ExternalIDs,
			Mutator: ovsdb.MutateOperationDelete, Value: []string{r.key()}})
	}
	return c.DB().Where(ls).Mutate(ls, model.Mutation{Field: &ls.ExternalIDs,
		Mutator: ovsdb.MutateOperationInsert, Value: map[string]string{r.key(): strings.Join(r.Aux, ",")}})
}

// EnsureSharedSwitch makes s (s.Shared set, s.Refs holding this host's one
// reference) the switch of this host's Docker network: the first host
// creates it, the others add their reference after checking that it is the
// same network (subnets, gateways, MTU, internal). It reports whether this
// call created the switch.
//
// s.MTU 0 means the MTU was not asked for: the network's is taken, and
// defaultMTU, this host's guess, only for a switch this call creates, since
// hosts with other underlays would guess differently.
func (c *Client) EnsureSharedSwitch(ctx context.Context, s Switch, defaultMTU int) (created bool, err error) {
	s.Name = s.Shared
	for try := 0; try < joinTries; try++ {
		have, err := c.switchByName(ctx, s.Name)
		switch {
		case isNotFound(err):
			mk := s
			if mk.MTU == 0 {
				mk.MTU = defaultMTU
			}
			ok, err := c.createShared(ctx, mk)
			if ok || err != nil {
				return ok, err
			}
		case err != nil:
			return false, err
		default:
			ok, err := c.joinShared(ctx, have, s)
			if ok || err != nil {
				return false, err
			}
		}
	}
	return false, usererr.Errorf(nil, "try again",
		"the logical switch of OVN network %s kept changing while this host joined it", s.Shared)
}

// createShared reports false when another host created the switch first.
func (c *Client) createShared(ctx context.Context, s Switch) (bool, error) {
	tx, err := c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("absent")(switchAbsent(s.Name))
	tx.Add("create")(c.createSwitch(s))
	if err := tx.Err(); err != nil {
		return false, err
	}
	_, err = c.TransactIdempotent(ctx, tx.Ops...)
	if tx.FailedIn(err, "absent") {
		return false, nil
	}
	if err != nil {
		return false, c.Failed(err, "create the logical switch of OVN network "+s.Shared)
	}
	return true, nil
}

// joinShared reports false when the switch changed under it.
func (c *Client) joinShared(ctx context.Context, have *nbdb.LogicalSwitch, want Switch) (bool, error) {
	if !ovs.Owned(have.ExternalIDs) || have.ExternalIDs[sharedKey] != want.Shared {
		return false, usererr.Errorf(ovs.ErrConflict, "choose another ovn.network name, or remove that switch with ovn-nbctl ls-del if nothing uses it",
			"logical switch %s already exists in the %s and is not the switch of OVN network %s", have.Name, c.Name(), want.Shared)
	}
	if err := sameNetwork(switchFromRow(have), want); err != nil {
		return false, err
	}
	tx, err := c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("same")(sameAs(have.UUID, have.ExternalIDs))
	tx.Add("ref")(c.setRef(have.UUID, want.Refs[0], false))
	if err := tx.Err(); err != nil {
		return false, err
	}
	_, err = c.TransactIdempotent(ctx, tx.Ops...)
	if tx.FailedIn(err, "same") {
		return false, nil
	}
	if err != nil {
		return false, c.Failed(err, "add this host to OVN network "+want.Shared)
	}
	return true, nil
}

// sameNetwork refuses to join a shared switch that is another network
// than the one this host's Docker asked for, naming the difference.
func sameNetwork(have *Switch, want Switch) error {
	diff := func(what, a, b string) error {
		return usererr.Errorf(ovs.ErrConflict, "give the network the same "+what+" on this host, or choose another ovn.network name",
			"OVN network %s has %s %s on the hosts that use it, not %s", want.Shared, what, a, b)
	}
	switch {
	case !slices.Equal(have.Subnets, want.Subnets):
		return diff("subnets", strings.Join(have.Subnets, ","), strings.Join(want.Subnets, ","))
	case !slices.Equal(have.Gateways, want.Gateways):
		return diff("gateways", orNone(have.Gateways), orNone(want.Gateways))
	case want.MTU != 0 && have.MTU != want.MTU:
		return diff("MTU", strconv.Itoa(have.MTU), strconv.Itoa(want.MTU))
	case have.Internal != want.Internal:
		return diff("--internal", internalWord(have.Internal), internalWord(want.Internal))
	case have.Router != want.Router:
		return diff("ovn.router", orNone(SplitList(have.Router)), orNone(SplitList(want.Router)))
	case have.Ingress != want.Ingress:
		return diff("ovn.ingress", ingressWord(have.Ingress), ingressWord(want.Ingress))
	case have.NoICC != want.NoICC:
		return diff("com.docker.network.bridge.enable_icc", strconv.FormatBool(!have.NoICC), strconv.FormatBool(!want.NoICC))
	case have.Isolate != want.Isolate:
		return diff("ovn.isolate", strconv.FormatBool(have.Isolate), strconv.FormatBool(want.Isolate))
	}
	return nil
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ",")
}

func ingressWord(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func internalWord(b bool) string {
	if b {
		return "set"
	}
	return "unset"
}

// leaveShared removes this host's reference (network id on chassis) and
// its leftover ports, and the switch with the last reference. It reports
// whether it deleted the switch.
func (c *Client) leaveShared(ctx context.Context, s *Switch, r Ref) (bool, error) {
	for try := 0; try < joinTries; try++ {
		rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.UUIDIs(s.UUID))
		if err != nil || len(rows) == 0 {
			return false, err
		}
		have := rows[0]
		if _, ok := have.ExternalIDs[r.key()]; !ok {
			return false, nil
		}
		last := len(refsOf(have.ExternalIDs)) == 1
		tx, err := c.NewTx(ctx)
		if err != nil {
			return false, err
		}
		tx.Add("same")(sameAs(have.UUID, have.ExternalIDs))
		if last {
			tx.Add("router")(c.detachOps(ctx, s))
			tx.Add("delete")(c.deleteSwitch(s))
			tx.Add("group")(dropGroupOps(s), nil)
		} else {
			tx.Add("ref")(c.setRef(have.UUID, r, true))
			tx.Add("ports")(c.removePortsOf(ctx, have, r))
		}
		if err := tx.Err(); err != nil {
			return false, err
		}
		_, err = c.TransactIdempotent(ctx, tx.Ops...)
		if tx.FailedIn(err, "same") || tx.FailedIn(err, "router") {
			continue
		}
		if err != nil {
			return false, c.Failed(err, "remove this host from OVN network "+s.Shared)
		}
		return last, nil
	}
	return false, usererr.Errorf(nil, "try again",
		"the logical switch of OVN network %s kept changing while this host left it", s.Shared)
}

// removePortsOf deletes the ports this host's network left on the switch
// (a crash between Docker's calls): Docker removes a network only once its
// endpoints are gone.
func (c *Client) removePortsOf(ctx context.Context, ls *nbdb.LogicalSwitch, r Ref) ([]ovsdb.Operation, error) {
	ports, err := conn.Cached(ctx, c.Conn, "the logical ports of network "+short(r.NetworkID), func(p *nbdb.LogicalSwitchPort) bool {
		return p.ExternalIDs[ovs.NetworkIDKey] == r.NetworkID && p.Options["requested-chassis"] == r.Chassis &&
			slices.Contains(ls.Ports, p.UUID)
	})
	if err != nil || len(ports) == 0 {
		return nil, err
	}
	uuids := make([]string, 0, len(ports))
	for _, p := range ports {
		uuids = append(uuids, p.UUID)
	}
	sw := &nbdb.LogicalSwitch{UUID: ls.UUID}
	ops, err := c.DB().Where(sw).Mutate(sw, model.Mutation{Field: &sw.Ports, Mutator: ovsdb.MutateOperationDelete, Value: uuids})
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		del, err := c.DB().Where(&nbdb.LogicalSwitchPort{UUID: p.UUID}).Delete()
		if err != nil {
			return nil, err
		}
		acls, err := c.endpointACLs(ctx, p.ExternalIDs[ovs.EndpointIDKey])
		if err != nil {
			return nil, err
		}
		ops = append(append(ops, del...), dropACLOps(acls)...)
	}
	return ops, nil
}
