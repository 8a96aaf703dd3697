package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// api speaks Docker's side of the plugin protocol over one daemon's
// socket, with the request bodies Docker 20.10 sends (shared/fixtures).
type api struct {
	c        *http.Client
	networks map[string]*network
}

type network struct {
	id, poolID, pool, gateway string
	endpoints                 []endpoint
}

type endpoint struct{ id, addr string }

func newAPI(sock string) *api {
	return &api{networks: map[string]*network{}, c: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}}
}

// call posts req to path and decodes the answer into resp.
func (a *api) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://plugin/"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	res, err := a.c.Do(r)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer res.Body.Close()
	var out struct{ Err string }
	raw := new(bytes.Buffer)
	raw.ReadFrom(res.Body)
	json.Unmarshal(raw.Bytes(), &out)
	if out.Err != "" {
		return fmt.Errorf("%s: %s", path, out.Err)
	}
	if resp != nil {
		return json.Unmarshal(raw.Bytes(), resp)
	}
	return nil
}

func hexID(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// createNetwork does what Docker does for `docker network create -d
// openvswitch --ipam-driver openvswitch NAME`: a pool, its gateway, then
// the network.
func (d *daemon) createNetwork(ctx context.Context, name string) (*network, error) {
	a := d.api
	n := &network{id: hexID(name)}
	var pool struct{ PoolID, Pool string }
	if err := a.call(ctx, "IpamDriver.RequestPool", map[string]any{"AddressSpace": "ovnlocal", "Options": map[string]string{}}, &pool); err != nil {
		return nil, err
	}
	n.poolID, n.pool = pool.PoolID, pool.Pool
	var gw struct{ Address string }
	if err := a.call(ctx, "IpamDriver.RequestAddress", map[string]any{"PoolID": n.poolID,
		"Options": map[string]string{"RequestAddressType": "com.docker.network.gateway"}}, &gw); err != nil {
		return nil, err
	}
	n.gateway = gw.Address
	if err := a.call(ctx, "NetworkDriver.CreateNetwork", map[string]any{"NetworkID": n.id,
		"Options":  map[string]any{"com.docker.network.enable_ipv6": false, "com.docker.network.generic": map[string]string{}},
		"IPv4Data": []map[string]string{{"AddressSpace": "ovnlocal", "Pool": n.pool, "Gateway": n.gateway}}}, nil); err != nil {
		return nil, err
	}
	a.networks[n.id] = n
	return n, nil
}

// createEndpoint is a container's RequestAddress and CreateEndpoint, each
// timed.
func (d *daemon) createEndpoint(ctx context.Context, n *network, i int) (endpoint, time.Duration, time.Duration, error) {
	a := d.api
	ep := endpoint{id: hexID(fmt.Sprintf("%s/%d/%d", n.id, i, time.Now().UnixNano()))}
	t0 := time.Now()
	var addr struct{ Address string }
	if err := a.call(ctx, "IpamDriver.RequestAddress", map[string]any{"PoolID": n.poolID, "Options": map[string]string{}}, &addr); err != nil {
		return ep, 0, 0, err
	}
	t1 := time.Now()
	ep.addr = addr.Address
	err := a.call(ctx, "NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": n.id, "EndpointID": ep.id,
		"Interface": map[string]string{"Address": ep.addr, "AddressIPv6": "", "MacAddress": ""},
		"Options":   map[string]any{"com.docker.network.endpoint.exposedports": []any{}, "com.docker.network.portmap": []any{}}}, nil)
	t2 := time.Now()
	if err != nil {
		return ep, 0, 0, err
	}
	n.endpoints = append(n.endpoints, ep)
	return ep, t1.Sub(t0), t2.Sub(t1), nil
}

func (d *daemon) deleteEndpoint(ctx context.Context, n *network, ep endpoint) error {
	if err := d.api.call(ctx, "NetworkDriver.DeleteEndpoint", map[string]string{"NetworkID": n.id, "EndpointID": ep.id}, nil); err != nil {
		return err
	}
	return d.api.call(ctx, "IpamDriver.ReleaseAddress", map[string]string{"PoolID": n.poolID, "Address": strings.Split(ep.addr, "/")[0]}, nil)
}

func (d *daemon) deleteNetwork(ctx context.Context, n *network) error {
	a := d.api
	if err := a.call(ctx, "NetworkDriver.DeleteNetwork", map[string]string{"NetworkID": n.id}, nil); err != nil {
		return err
	}
	if err := a.call(ctx, "IpamDriver.ReleaseAddress", map[string]string{"PoolID": n.poolID, "Address": strings.Split(n.gateway, "/")[0]}, nil); err != nil {
		return err
	}
	delete(a.networks, n.id)
	return a.call(ctx, "IpamDriver.ReleasePool", map[string]string{"PoolID": n.poolID}, nil)
}
