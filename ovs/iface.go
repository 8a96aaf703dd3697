package ovs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/vswitchd"
)

// ErrNotInstalled means ovn-controller had not finished with an interface in time.
var ErrNotInstalled = errors.New("not yet installed by ovn-controller")

// Iface is a driver-owned OVS port with one system interface (a veth end)
// bound to a logical port.
type Iface struct {
	Name        string // the host-side device name; also the OVS port name
	LogicalPort string // external_ids:iface-id, which ovn-controller binds
	MAC         string // external_ids:attached-mac: the container side's MAC
	EndpointID  string
	Installed   bool // external_ids:ovn-installed="true", set by ovn-controller
}

func (i Iface) externalIDs() map[string]string {
	return map[string]string{
		"iface-id": i.LogicalPort, "attached-mac": i.MAC, "iface-status": "active",
		OwnerKey: OwnerValue, EndpointIDKey: i.EndpointID,
	}
}

// EnsureInterface adds the device to bridge as an OVS port bound to its
// logical port, unless the port is already there with that binding.
func (o *OVS) EnsureInterface(ctx context.Context, bridge string, i Iface) (created bool, err error) {
	ops := []ovsdb.Operation{
		guard(vswitchd.BridgeTable, true, bridge),
		guard(vswitchd.PortTable, false, i.Name),
		insertOp(vswitchd.InterfaceTable, "iface", ovsdb.Row{
			"name": i.Name, "external_ids": strMap(i.externalIDs()),
		}),
		insertOp(vswitchd.PortTable, "port", ovsdb.Row{
			"name": i.Name, "interfaces": refSet(ovsdb.UUID{GoUUID: "iface"}),
			"external_ids": strMap(map[string]string{OwnerKey: OwnerValue, EndpointIDKey: i.EndpointID}),
		}),
		{
			Op: ovsdb.OperationMutate, Table: vswitchd.BridgeTable, Where: []ovsdb.Condition{nameIs(bridge)},
			Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationInsert,
				refSet(ovsdb.UUID{GoUUID: "port"}))},
		},
	}
	_, err = o.transactIdempotent(ctx, ops...)
	switch {
	case err == nil:
		return true, nil
	case failedAt(err, 0):
		return false, o.notFound("bridge " + bridge)
	case failedAt(err, 1):
		return false, o.checkInterface(ctx, i)
	default:
		return false, o.failed(err, "add port "+i.Name+" to bridge "+bridge)
	}
}

// checkInterface accepts an existing port only if it is ours and bound to
// the same logical port.
func (o *OVS) checkInterface(ctx context.Context, want Iface) error {
	have, err := o.Interface(ctx, want.Name)
	if err != nil {
		return err
	}
	if have.LogicalPort != want.LogicalPort || have.EndpointID != want.EndpointID {
		return usererr.Errorf(ErrConflict, "remove it with ovs-vsctl del-port if nothing else uses it",
			"OVS port %s already exists in the %s and is not bound to logical port %s", want.Name, o.name, want.LogicalPort)
	}
	return nil
}

// Interface returns the OVS interface named name.
func (o *OVS) Interface(ctx context.Context, name string) (*Iface, error) {
	row, err := getByName(ctx, o.conn, vswitchd.InterfaceTable, name, &vswitchd.Interface{Name: name})
	if err != nil {
		return nil, err
	}
	return ifaceFromRow(row), nil
}

func ifaceFromRow(row *vswitchd.Interface) *Iface {
	return &Iface{
		Name: row.Name, LogicalPort: row.ExternalIDs["iface-id"], MAC: row.ExternalIDs["attached-mac"],
		EndpointID: row.ExternalIDs[EndpointIDKey], Installed: row.ExternalIDs["ovn-installed"] == "true",
	}
}

// DeleteInterface removes the driver-owned OVS port named name from
// whichever bridge holds it. An absent port is success; a port without our
// mark is refused.
func (o *OVS) DeleteInterface(ctx context.Context, name string) (deleted bool, err error) {
	port, err := getByName(ctx, o.conn, vswitchd.PortTable, name, &vswitchd.Port{Name: name})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !isOwned(port.ExternalIDs) {
		return false, usererr.Errorf(ErrConflict, "remove it with ovs-vsctl del-port if nothing else uses it",
			"OVS port %s in the %s is not ovn-docker's, so it was left alone", name, o.name)
	}
	return unlinkAndDelete(ctx, o.conn, vswitchd.BridgeTable, vswitchd.PortTable, port.UUID, "OVS port "+name)
}

// WaitInstalled blocks until ovn-controller marks the interface
// ovn-installed, meaning its flows are in and the first packet will pass,
// or until timeout. The server holds the "wait" operation, so nothing polls.
func (o *OVS) WaitInstalled(ctx context.Context, name string, timeout time.Duration) error {
	ms := int(timeout.Milliseconds())
	op := ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: vswitchd.InterfaceTable, Timeout: &ms,
		Until: string(ovsdb.WaitConditionEqual), Columns: []string{"name"},
		Where: []ovsdb.Condition{nameIs(name), ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes,
			strMap(map[string]string{"ovn-installed": "true"}))},
		Rows: []ovsdb.Row{{"name": name}},
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	_, err := o.transact(ctx, op)
	if failedAt(err, 0) {
		return fmt.Errorf("interface %s: %w after %s", name, ErrNotInstalled, timeout)
	}
	return o.failed(err, "wait until ovn-controller installs "+name)
}
