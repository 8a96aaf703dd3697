// Package local is this host's Open_vSwitch database as the driver needs
// it: the chassis name and tunnel address ovn-controller uses, the
// integration bridge, and the OVS ports of endpoints bound to logical
// ports.
package local

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/vswitchd"
)

// Client is the driver's handle on the local Open_vSwitch database.
type Client struct{ *conn.Conn }

// Bridge is what the driver needs to know of the integration bridge.
type Bridge struct {
	Name         string
	DatapathType string // "netdev" for the userspace datapath; "" or "system" for the kernel's
}

// Userspace reports whether packets go through the userspace datapath,
// which needs TX checksum offload off on veths.
func (b Bridge) Userspace() bool { return b.DatapathType == "netdev" }

func dbModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel("Open_vSwitch", map[string]model.Model{
		vswitchd.OpenvSwitchTable: &vswitchd.OpenvSwitch{},
		vswitchd.BridgeTable:      &vswitchd.Bridge{},
		vswitchd.PortTable:        &vswitchd.Port{},
		vswitchd.InterfaceTable:   &vswitchd.Interface{},
	})
}

// New prepares a client of the local Open_vSwitch database; Run connects
// it. One host's OVS is small: whole tables are followed, the used
// columns only.
func New(cfg conn.Config) (*Client, error) {
	m, err := dbModel()
	if err != nil {
		return nil, err
	}
	o, br, p, i := &vswitchd.OpenvSwitch{}, &vswitchd.Bridge{}, &vswitchd.Port{}, &vswitchd.Interface{}
	c, err := conn.New("local Open vSwitch database", "--ovs", m, cfg,
		client.WithTable(o, &o.ExternalIDs, &o.Bridges),
		client.WithTable(br, &br.Name, &br.DatapathType, &br.Ports),
		client.WithTable(p, &p.Name, &p.Interfaces, &p.ExternalIDs),
		client.WithTable(i, &i.Name, &i.Type, &i.ExternalIDs, &i.Ofport, &i.Error),
	)
	if err != nil {
		return nil, err
	}
	return &Client{c}, nil
}

// SystemID is this chassis' name in OVN (external_ids:system-id).
func (c *Client) SystemID(ctx context.Context) (string, error) {
	rows, err := c.root(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		if id := r.ExternalIDs["system-id"]; id != "" {
			return id, nil
		}
	}
	return "", usererr.Errorf(ovs.ErrNotFound,
		"set up ovn-controller on this host (ovs-vsctl set Open_vSwitch . external_ids:system-id=<name>)",
		"the %s at %s has no external_ids:system-id, so this host is not an OVN chassis", c.Name(), c.Endpoints())
}

// EncapIP is the tunnel endpoint address ovn-controller uses (may be empty).
func (c *Client) EncapIP(ctx context.Context) (string, error) {
	rows, err := c.root(ctx)
	if err != nil || len(rows) == 0 {
		return "", err
	}
	return rows[0].ExternalIDs["ovn-encap-ip"], nil
}

// Bridge describes the named bridge, or fails with ovs.ErrNotFound.
func (c *Client) Bridge(ctx context.Context, name string) (*Bridge, error) {
	row, err := conn.Get(ctx, c.Conn, &vswitchd.Bridge{Name: name}, "bridge "+name, conn.NameIs(name))
	if err != nil {
		return nil, err
	}
	return &Bridge{Name: row.Name, DatapathType: row.DatapathType}, nil
}

// root reads the one Open_vSwitch row, from the server when the cache has
// not got it yet.
func (c *Client) root(ctx context.Context) ([]*vswitchd.OpenvSwitch, error) {
	rows, err := conn.Cached(ctx, c.Conn, "the Open_vSwitch table", func(*vswitchd.OpenvSwitch) bool { return true })
	if err != nil || len(rows) > 0 {
		return rows, err
	}
	return conn.Select[*vswitchd.OpenvSwitch](ctx, c.Conn, vswitchd.OpenvSwitchTable)
}
