package ovs

import (
	"context"
	"errors"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Port is a driver-owned logical switch port: one Docker endpoint.
type Port struct {
	UUID       string
	Name       string
	Switch     string // logical switch name
	NetworkID  string
	EndpointID string
	MAC        string
	IPs        []string // without prefix length
	Chassis    string   // options:requested-chassis
	Up         bool
	IfName     string // the interface name asked for inside the container, if any
}

// address is the "MAC IP..." string used for both addresses and port_security.
func (p Port) address() string {
	return strings.Join(append([]string{p.MAC}, p.IPs...), " ")
}

func (p Port) row() ovsdb.Row {
	addr := strSet([]string{p.address()})
	return ovsdb.Row{
		"name": p.Name, "addresses": addr, "port_security": addr,
		"options":      strMap(map[string]string{"requested-chassis": p.Chassis}),
		"external_ids": strMap(p.externalIDs()),
	}
}

// ifNameKey records the interface name asked for inside the container,
// which Docker sends in CreateEndpoint but Join must answer with.
const ifNameKey = "docker:ifname"

func (p Port) externalIDs() map[string]string {
	ids := map[string]string{OwnerKey: OwnerValue, NetworkIDKey: p.NetworkID, EndpointIDKey: p.EndpointID}
	if p.IfName != "" {
		ids[ifNameKey] = p.IfName
	}
	return ids
}

func portFromRow(lsp *nbdb.LogicalSwitchPort) *Port {
	p := &Port{
		UUID: lsp.UUID, Name: lsp.Name, NetworkID: lsp.ExternalIDs[NetworkIDKey],
		EndpointID: lsp.ExternalIDs[EndpointIDKey], Chassis: lsp.Options["requested-chassis"],
		Up: lsp.Up != nil && *lsp.Up, IfName: lsp.ExternalIDs[ifNameKey],
	}
	if len(lsp.Addresses) > 0 {
		f := strings.Fields(lsp.Addresses[0])
		if len(f) > 0 {
			p.MAC, p.IPs = f[0], f[1:]
		}
	}
	return p
}

// EnsurePort creates the endpoint's port on its switch, in the same
// transaction that adds it to the switch. If the port is already there (a
// retried CreateEndpoint), it is brought to the wanted state instead.
func (nb *NB) EnsurePort(ctx context.Context, p Port) (created bool, err error) {
	ops := []ovsdb.Operation{
		guard(nbdb.LogicalSwitchTable, true, p.Switch, ownedBy(p.NetworkID)),
		guard(nbdb.LogicalSwitchPortTable, false, p.Name),
		insertOp(nbdb.LogicalSwitchPortTable, "lsp", p.row()),
		{
			Op: ovsdb.OperationMutate, Table: nbdb.LogicalSwitchTable,
			Where: []ovsdb.Condition{nameIs(p.Switch), ownedBy(p.NetworkID)},
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationInsert,
				refSet(ovsdb.UUID{GoUUID: "lsp"}))},
		},
	}
	_, err = nb.transactIdempotent(ctx, ops...)
	switch {
	case err == nil:
		return true, nil
	case failedAt(err, 0):
		return false, nb.notFound("the logical switch of network " + short(p.NetworkID))
	case failedAt(err, 1):
		return false, nb.updatePort(ctx, p)
	default:
		return false, nb.failed(err, "create the logical port of endpoint "+short(p.EndpointID))
	}
}

// updatePort rewrites an existing port of the same endpoint to the spec.
func (nb *NB) updatePort(ctx context.Context, p Port) error {
	have, err := nb.portRow(ctx, p.Name)
	if err != nil {
		return err
	}
	if !isOwned(have.ExternalIDs) || have.ExternalIDs[NetworkIDKey] != p.NetworkID {
		return usererr.Errorf(ErrConflict, "remove it with ovn-nbctl lsp-del if nothing else uses it",
			"logical port %s already exists in the %s and is not ovn-docker's port for network %s",
			p.Name, nb.name, short(p.NetworkID))
	}
	row := p.row()
	delete(row, "name")
	_, err = nb.transactIdempotent(ctx, ovsdb.Operation{
		Op: ovsdb.OperationUpdate, Table: nbdb.LogicalSwitchPortTable,
		Where: []ovsdb.Condition{uuidIs(have.UUID)}, Row: row,
	})
	if err != nil {
		return nb.failed(err, "update the logical port of endpoint "+short(p.EndpointID))
	}
	return nil
}

// Port returns the logical port named name.
func (nb *NB) Port(ctx context.Context, name string) (*Port, error) {
	row, err := nb.portRow(ctx, name)
	if err != nil {
		return nil, err
	}
	return portFromRow(row), nil
}

func (nb *NB) portRow(ctx context.Context, name string) (*nbdb.LogicalSwitchPort, error) {
	return getByName(ctx, nb.conn, nbdb.LogicalSwitchPortTable, name, &nbdb.LogicalSwitchPort{Name: name})
}

// DeletePort removes a driver-owned port and its switch's reference to it.
// An absent port is success; a port without our mark is refused.
func (nb *NB) DeletePort(ctx context.Context, name string) (deleted bool, err error) {
	have, err := nb.portRow(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !isOwned(have.ExternalIDs) {
		return false, usererr.Errorf(ErrConflict, "remove it with ovn-nbctl lsp-del if nothing else uses it",
			"logical port %s in the %s is not ovn-docker's, so it was left alone", name, nb.name)
	}
	return unlinkAndDelete(ctx, nb.conn, nbdb.LogicalSwitchTable, nbdb.LogicalSwitchPortTable, have.UUID,
		"logical port "+name)
}
