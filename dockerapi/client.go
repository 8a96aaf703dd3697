// Package dockerapi reads what this host's Docker engine knows, through the
// Engine API on its local socket. It only reads: the daemon never changes
// anything through Docker's API.
package dockerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// ErrUnreachable means the engine did not answer.
var ErrUnreachable = errors.New("docker engine unreachable")

// errNotFound: the engine answered 404.
var errNotFound = errors.New("not found")

// maxBody bounds what is read of one answer: a host with thousands of
// networks answers a few MiB.
const maxBody = 64 << 20

// Client talks to one engine's API socket.
type Client struct {
	addr string
	http *http.Client
}

// New returns a client for addr, which must be unix:///path (the form
// dockerd's -H and DOCKER_HOST use).
func New(addr string) (*Client, error) {
	path, ok := strings.CutPrefix(addr, "unix://")
	if !ok || path == "" || path[0] != '/' {
		return nil, fmt.Errorf("docker address %q is not unix:///path/to/docker.sock", addr)
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}
	return &Client{addr: addr, http: &http.Client{
		Transport: &http.Transport{DialContext: dial, MaxIdleConns: 1, IdleConnTimeout: time.Minute},
	}}, nil
}

// Addr is the address the client was made for.
func (c *Client) Addr() string { return c.addr }

// get fetches path (no API version prefix: the engine answers in its own
// version, and the fields read here exist in every version since 1.24).
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, c.addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, c.addr, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("docker engine at %s: answer to %s is over %d bytes", c.addr, path, maxBody)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w: docker engine at %s answered %s to GET %s: %s", errNotFound, c.addr, resp.Status, path, errorText(body))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("docker engine at %s answered %s to GET %s: %s", c.addr, resp.Status, path, errorText(body))
	}
	return body, nil
}

// errorText picks the message out of Docker's {"message": …} error body.
func errorText(body []byte) string {
	var e struct{ Message string }
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Ping checks that the engine answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.get(ctx, "/_ping")
	return err
}

// Networks lists every network the engine knows, of any driver.
func (c *Client) Networks(ctx context.Context) ([]Network, error) {
	body, err := c.get(ctx, "/networks")
	if err != nil {
		return nil, err
	}
	return DecodeNetworks(body)
}
