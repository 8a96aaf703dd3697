package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/vswitchd"
)

// Iface is a driver-owned OVS port with one system interface (a veth end)
// bound to a logical port.
type Iface struct {
	Name        string // the host-side device name; also the OVS port name
	LogicalPort string // external_ids:iface-id, which ovn-controller binds
	MAC         string // external_ids:attached-mac: the container side's MAC
	EndpointID  string
	Installed   bool // external_ids:ovn-installed="true", set by ovn-controller
}

// Named UUIDs of the rows EnsureInterface inserts.
const (
	newIface = "new_iface"
	newPort  = "new_port"
)

func ifaceFromRow(row *vswitchd.Interface) *Iface {
	return &Iface{
		Name: row.Name, LogicalPort: row.ExternalIDs["iface-id"], MAC: row.ExternalIDs["attached-mac"],
		EndpointID: row.ExternalIDs[ovs.EndpointIDKey], Installed: row.ExternalIDs["ovn-installed"] == "true",
	}
}

// createPortOnBridge inserts the interface, its port and the bridge's
// reference to it.
func (c *Client) createPortOnBridge(bridge string, i Iface) ([]ovsdb.Operation, error) {
	iface := &vswitchd.Interface{UUID: newIface, Name: i.Name, ExternalIDs: ovs.Mark(map[string]string{
		"iface-id": i.LogicalPort, "attached-mac": i.MAC, "iface-status": "active", ovs.EndpointIDKey: i.EndpointID})}
	port := &vswitchd.Port{UUID: newPort, Name: i.Name, Interfaces: []string{newIface},
		ExternalIDs: ovs.Mark(map[string]string{ovs.EndpointIDKey: i.EndpointID})}
	ops, err := c.DB().Create(iface)
	if err != nil {
		return nil, err
	}
	more, err := c.DB().Create(port)
	if err != nil {
		return nil, err
	}
	br := &vswitchd.Bridge{Name: bridge}
	add, err := c.DB().Where(br).Mutate(br, model.Mutation{Field: &br.Ports,
		Mutator: ovsdb.MutateOperationInsert, Value: []string{newPort}})
	return append(append(ops, more...), add...), err
}

// EnsureInterface adds the device to bridge as an OVS port bound to its
// logical port, unless the port is already there with that binding.
func (c *Client) EnsureInterface(ctx context.Context, bridge string, i Iface) (created bool, err error) {
	tx, err := c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("bridge")(conn.Guard(conn.Named(vswitchd.BridgeTable, true, bridge)))
	tx.Add("absent")(conn.Guard(conn.Named(vswitchd.PortTable, false, i.Name)))
	tx.Add("create")(c.createPortOnBridge(bridge, i))
	if err := tx.Err(); err != nil {
		return false, err
	}
	_, err = c.TransactIdempotent(ctx, tx.Ops...)
	switch {
	case err == nil:
		return true, nil
	case tx.FailedIn(err, "bridge"):
		return false, c.NotFound("bridge " + bridge)
	case tx.FailedIn(err, "absent"):
		return false, c.checkInterface(ctx, i)
	default:
		return false, c.Failed(err, "add port "+i.Name+" to bridge "+bridge)
	}
}

// checkInterface accepts an existing port only if it is ours and bound to
// the same logical port.
func (c *Client) checkInterface(ctx context.Context, want Iface) error {
	have, err := c.Interface(ctx, want.Name)
	if err != nil {
		return err
	}
	if have.LogicalPort != want.LogicalPort || have.EndpointID != want.EndpointID {
		return usererr.Errorf(ovs.ErrConflict, "remove it with ovs-vsctl del-port if nothing else uses it",
			"OVS port %s already exists in the %s and is not bound to logical port %s", want.Name, c.Name(), want.LogicalPort)
	}
	return nil
}

// Interface returns the OVS interface named name.
func (c *Client) Interface(ctx context.Context, name string) (*Iface, error) {
	row, err := conn.Get(ctx, c.Conn, &vswitchd.Interface{Name: name}, "OVS interface "+name, conn.NameIs(name))
	if err != nil {
		return nil, err
	}
	return ifaceFromRow(row), nil
}

// Interfaces lists every driver-owned OVS interface of this host, as the
// server has them.
func (c *Client) Interfaces(ctx context.Context) ([]*Iface, error) {
	rows, err := conn.Select[*vswitchd.Interface](ctx, c.Conn, vswitchd.InterfaceTable,
		conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil {
		return nil, err
	}
	out := make([]*Iface, 0, len(rows))
	for _, r := range rows {
		out = append(out, ifaceFromRow(r))
	}
	return out, nil
}

// DeleteInterface removes the driver-owned OVS port named name from
// whichever bridge holds it. An absent port is success; a port without our
// mark is refused.
func (c *Client) DeleteInterface(ctx context.Context, name string) (deleted bool, err error) {
	port, err := conn.Get(ctx, c.Conn, &vswitchd.Port{Name: name}, "OVS port "+name, conn.NameIs(name))
	if errors.Is(err, ovs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !ovs.Owned(port.ExternalIDs) {
		return false, usererr.Errorf(ovs.ErrConflict, "remove it with ovs-vsctl del-port if nothing else uses it",
			"OVS port %s in the %s is not ovn-docker's, so it was left alone", name, c.Name())
	}
	return c.UnlinkAndDelete(ctx, vswitchd.BridgeTable, vswitchd.PortTable, port.UUID, "OVS port "+name)
}

// WaitInstalled blocks until ovn-controller marks the interface
// ovn-installed, meaning its flows are in and the first packet will pass,
// or until timeout. The server holds the "wait" operation, so nothing polls.
func (c *Client) WaitInstalled(ctx context.Context, name string, timeout time.Duration) error {
	op := conn.Wait(vswitchd.InterfaceTable, ovsdb.WaitConditionEqual, []ovsdb.Condition{conn.NameIs(name),
		conn.Includes("external_ids", map[string]string{"ovn-installed": "true"})}, ovsdb.Row{"name": name})
	ms := int(timeout.Milliseconds())
	op.Timeout = &ms
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	_, err := c.Transact(ctx, op)
	if conn.FailedAt(err, 0) {
		return fmt.Errorf("interface %s: %w after %s", name, ovs.ErrNotInstalled, timeout)
	}
	return c.Failed(err, "wait until ovn-controller installs "+name)
}
