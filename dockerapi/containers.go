package dockerapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Container is what the daemon needs of one container: its name and its
// endpoints.
type Container struct {
	ID        string
	Name      string
	Endpoints []Endpoint
}

// Endpoint is a container's attachment to one network.
type Endpoint struct {
	NetworkID  string
	EndpointID string
	IPv4, IPv6 netip.Addr
	// Aliases are --network-alias (20.10 adds the short container ID);
	// DNSNames (API 1.44+) every name Docker's DNS answers for it.
	Aliases, DNSNames []string
}

type wireContainer struct {
	ID              string `json:"Id"`
	Names           []string
	Name            string // inspect's form
	NetworkSettings struct {
		Networks map[string]struct {
			NetworkID, EndpointID, IPAddress, GlobalIPv6Address string
			Aliases, DNSNames                                   []string
		}
	}
}

func (w wireContainer) container() Container {
	c := Container{ID: w.ID, Name: strings.TrimPrefix(w.Name, "/")}
	if len(w.Names) > 0 {
		c.Name = strings.TrimPrefix(w.Names[0], "/")
	}
	for _, n := range w.NetworkSettings.Networks {
		e := Endpoint{NetworkID: n.NetworkID, EndpointID: n.EndpointID, Aliases: n.Aliases, DNSNames: n.DNSNames}
		e.IPv4, _ = netip.ParseAddr(n.IPAddress)
		e.IPv6, _ = netip.ParseAddr(n.GlobalIPv6Address)
		c.Endpoints = append(c.Endpoints, e)
	}
	return c
}

// DecodeContainers reads GET /containers/json's answer.
func DecodeContainers(body []byte) ([]Container, error) {
	var wire []wireContainer
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, fmt.Errorf("docker's container list does not decode: %w", err)
	}
	out := make([]Container, 0, len(wire))
	for _, w := range wire {
		out = append(out, w.container())
	}
	return out, nil
}

// Containers lists every container, running or not.
func (c *Client) Containers(ctx context.Context) ([]Container, error) {
	body, err := c.get(ctx, "/containers/json?all=1")
	if err != nil {
		return nil, err
	}
	return DecodeContainers(body)
}

// Inspect reads one container; nil when it is gone. Its endpoints carry
// their aliases, which the list leaves out (20.10). Inspecting takes the
// container's lock, which Docker holds until it has recorded a start,
// stop or network change in what Containers lists: so it also waits for
// Docker to settle the container.
func (c *Client) Inspect(ctx context.Context, id string) (*Container, error) {
	if !idPattern.MatchString(id) {
		return nil, fmt.Errorf("container ID %q is not valid", id)
	}
	body, err := c.get(ctx, "/containers/"+id+"/json")
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var w wireContainer
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("docker's container %s does not decode: %w", id, err)
	}
	ctr := w.container()
	return &ctr, nil
}

// Event is one event of Docker's stream, as far as it is read.
type Event struct {
	Type   string
	Action string
	Actor  struct {
		ID         string
		Attributes map[string]string
	}
}

// ContainerID is the container an event concerns: the actor of a
// container event, the container attribute of a network one.
func (e Event) ContainerID() string {
	if e.Type == "network" {
		return e.Actor.Attributes["container"]
	}
	return e.Actor.ID
}

// Events streams the container and network events to fn, until ctx ends
// or the stream breaks; ready runs once Docker has subscribed the stream,
// so nothing after it is missed.
func (c *Client) Events(ctx context.Context, ready func(), fn func(Event)) error {
	filters := url.QueryEscape(`{"type":["container","network"]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/events?filters="+filters, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, c.addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker engine at %s answered %s to GET /events", c.addr, resp.Status)
	}
	ready()
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var e Event
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("%w at %s: the event stream ended: %v", ErrUnreachable, c.addr, err)
		}
		fn(e)
	}
}
