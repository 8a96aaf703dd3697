//go:build ignore

// fanout is the helper of test/bench/claims-fanout.sh: it makes plugin
// calls the way Docker does (HTTP POSTs on the plugin's Unix socket, one at
// a time) and counts what a Southbound monitor receives. Built by the
// script with `go build -o DIR/fanout test/bench/fanout.go`; not part of
// any package (build tag ignore), so `go vet ./...` and the tests never
// see it.
//
//	fanout call SOCKET METHOD JSON
//	    one call (METHOD such as IpamDriver.RequestPool); prints the reply
//	fanout claim SOCKET POOLID N OUT
//	    N dynamic RequestAddress calls; the addresses go to OUT, one a line
//	fanout release SOCKET POOLID IN
//	    ReleaseAddress of every address of IN
//	fanout endpoints SOCKET NETID FIRST N OUT
//	    N CreateEndpoint calls on network NETID, addresses FIRST, FIRST+1, …
//	    (FIRST is ADDR/BITS); the endpoint IDs go to OUT
//	fanout delete-endpoints SOCKET NETID IN
//	    DeleteEndpoint of every endpoint ID of IN
//	fanout sbmon SOCKET
//	    monitors every table and column of the Southbound database at
//	    SOCKET, as ovn-controller does (monitor_cond_since, columns named,
//	    update3 notifications; ovn-controller's own monitor is a subset:
//	    it leaves out some columns and conditions some tables on its
//	    datapaths, but takes every Address_Set row and column).
//	    Prints "ready …" once the initial contents have arrived, then on
//	    every SIGUSR1 one line with what arrived since the previous line:
//	    notifications, bytes (exactly as read from the socket), rows per
//	    table, and the last notification as received. Exits on SIGTERM.
//	fanout nbset SOCKET PREFIX COLUMN N
//	fanout nbunset SOCKET PREFIX COLUMN N
//	fanout nbdrop SOCKET PREFIX N
//	    for comparison, not the product's way: N claims (nbset) or
//	    releases (nbunset) of addresses 10.217.0.0, 10.217.0.1, … straight
//	    in the NB database at SOCKET, one transaction each, shaped as the
//	    driver's (a wait that fails if the address is claimed, then a
//	    mutation), in rows PREFIX_0, PREFIX_1, … of 256 addresses, made
//	    on first use; COLUMN "addresses" keeps them as legacy pools do,
//	    "external_ids" as keys of that map (value ""), which northd does
//	    not copy to the Southbound database. nbdrop deletes the rows.
//
// The call commands print "calls=N seconds=S" on stderr. FANOUT_PACE (a
// duration such as 20ms) spaces the calls out, as containers started one
// after another would; unset, they follow each other at once.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		die("usage: fanout call|claim|release|endpoints|delete-endpoints|sbmon SOCKET …")
	}
	sock, args := os.Args[2], os.Args[3:]
	switch os.Args[1] {
	case "call":
		need(args, 2)
		fmt.Println(string(newPlugin(sock).call(args[0], json.RawMessage(args[1]))))
	case "claim":
		need(args, 3)
		n, err := strconv.Atoi(args[1])
		check(err)
		claim(newPlugin(sock), args[0], n, args[2])
	case "release":
		need(args, 2)
		p := newPlugin(sock)
		each(args[1], func(a string) {
			p.call("IpamDriver.ReleaseAddress", map[string]string{"PoolID": args[0], "Address": a})
		})
		p.done()
	case "endpoints":
		need(args, 4)
		n, err := strconv.Atoi(args[2])
		check(err)
		endpoints(newPlugin(sock), args[0], args[1], n, args[3])
	case "delete-endpoints":
		need(args, 2)
		p := newPlugin(sock)
		each(args[1], func(id string) {
			p.call("NetworkDriver.DeleteEndpoint", map[string]string{"NetworkID": args[0], "EndpointID": id})
		})
		p.done()
	case "sbmon":
		sbmon(sock)
	case "nbset", "nbunset":
		need(args, 3)
		n, err := strconv.Atoi(args[2])
		check(err)
		nbClaims(sock, os.Args[1] == "nbset", args[0], args[1], n)
	case "nbdrop":
		need(args, 2)
		n, err := strconv.Atoi(args[1])
		check(err)
		c := dialOVSDB(sock)
		for b := 0; b*256 < n; b++ {
			c.transact(map[string]any{"op": "delete", "table": "Address_Set",
				"where": []any{[]any{"name", "==", fmt.Sprintf("%s_%d", args[0], b)}}})
		}
	default:
		die("unknown command " + os.Args[1])
	}
}

func die(msg string) {
	fmt.Fprintln(os.Stderr, "fanout:", msg)
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		die(err.Error())
	}
}

func need(args []string, n int) {
	if len(args) != n {
		die(fmt.Sprintf("%s wants %d arguments after the socket", os.Args[1], n))
	}
}

// plugin posts calls to the plugin's socket, as Docker does.
type plugin struct {
	c     *http.Client
	calls int
	start time.Time
	pace  time.Duration
}

func newPlugin(sock string) *plugin {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	p := &plugin{c: &http.Client{Transport: tr, Timeout: 60 * time.Second}, start: time.Now()}
	if v := os.Getenv("FANOUT_PACE"); v != "" {
		d, err := time.ParseDuration(v)
		check(err)
		p.pace = d
	}
	return p
}

// call posts one request and fails on an error reply.
func (p *plugin) call(method string, body any) []byte {
	if p.calls > 0 {
		time.Sleep(p.pace)
	}
	b, err := json.Marshal(body)
	check(err)
	resp, err := p.c.Post("http://plugin/"+method, "application/vnd.docker.plugins.v1.2+json", bytes.NewReader(b))
	check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	check(err)
	var e struct{ Err string }
	_ = json.Unmarshal(out, &e)
	if resp.StatusCode != http.StatusOK || e.Err != "" {
		die(fmt.Sprintf("%s %s: %s %s", method, b, resp.Status, out))
	}
	p.calls++
	return out
}

// done reports the calls and the time they took, pauses left out.
func (p *plugin) done() {
	busy := time.Since(p.start) - time.Duration(max(p.calls-1, 0))*p.pace
	fmt.Fprintf(os.Stderr, "calls=%d seconds=%.3f\n", p.calls, busy.Seconds())
}

func claim(p *plugin, pool string, n int, out string) {
	var addrs []string
	for i := 0; i < n; i++ {
		var r struct{ Address string }
		check(json.Unmarshal(p.call("IpamDriver.RequestAddress",
			map[string]any{"PoolID": pool, "Address": "", "Options": map[string]string{}}), &r))
		addrs = append(addrs, r.Address)
	}
	p.done()
	check(os.WriteFile(out, []byte(strings.Join(addrs, "\n")+"\n"), 0o644))
}

func endpoints(p *plugin, netID, first string, n int, out string) {
	pfx, err := netip.ParsePrefix(first)
	check(err)
	a := pfx.Addr()
	var ids []string
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("fanout %s %d", first, i)))
		id := hex.EncodeToString(sum[:])
		p.call("NetworkDriver.CreateEndpoint", map[string]any{
			"NetworkID": netID, "EndpointID": id, "Options": map[string]any{},
			"Interface": map[string]string{"Address": netip.PrefixFrom(a, pfx.Bits()).String()},
		})
		ids = append(ids, id)
		a = a.Next()
	}
	p.done()
	check(os.WriteFile(out, []byte(strings.Join(ids, "\n")+"\n"), 0o644))
}

// each calls f for every word of file.
func each(file string, f func(string)) {
	b, err := os.ReadFile(file)
	check(err)
	for _, w := range strings.Fields(string(b)) {
		f(w)
	}
}

// counts is what the monitor received since the last report.
type counts struct {
	mu            sync.Mutex
	notifications int
	bytes         int64
	rows          map[string]int
	last          []byte // the last notification, as received
}

func (c *counts) report(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var tables []string
	for t, n := range c.rows {
		tables = append(tables, fmt.Sprintf("%s:%d", t, n))
	}
	sort.Strings(tables)
	last := string(c.last)
	if len(last) > 600 {
		last = last[:600] + "…"
	}
	fmt.Fprintf(w, "notifications=%d bytes=%d rows=%s last=%s\n", c.notifications, c.bytes, strings.Join(tables, ","), last)
	c.notifications, c.bytes, c.rows, c.last = 0, 0, map[string]int{}, nil
}

// countingReader counts the bytes read from the socket: the decoder's
// own offsets would skip the whitespace between messages.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type rpc struct {
	ID     any               `json:"id"`
	Method string            `json:"method,omitempty"`
	Params []json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage   `json:"result,omitempty"`
	Error  any               `json:"error,omitempty"`
}

func sbmon(sock string) {
	conn, err := net.Dial("unix", sock)
	check(err)
	cr := &countingReader{r: conn}
	dec := json.NewDecoder(cr)
	enc := json.NewEncoder(conn)
	var mu sync.Mutex // the encoder: replies to echo come from the reader
	send := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		check(enc.Encode(v))
	}

	// The schema names the tables; monitor all of them, every column.
	send(map[string]any{"id": "schema", "method": "get_schema", "params": []string{"OVN_Southbound"}})
	var m rpc
	check(dec.Decode(&m))
	var schema struct {
		Tables map[string]struct{ Columns map[string]json.RawMessage }
	}
	check(json.Unmarshal(m.Result, &schema))
	// Columns named, as an IDL names them: without a list the server
	// would add each row's _version to every update.
	reqs := map[string]any{}
	for t, ts := range schema.Tables {
		var cols []string
		for c := range ts.Columns {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		reqs[t] = []any{map[string]any{"columns": cols}}
	}
	send(map[string]any{"id": "monitor", "method": "monitor_cond_since",
		"params": []any{"OVN_Southbound", "fanout", reqs, "00000000-0000-0000-0000-000000000000"}})
	for {
		m = rpc{}
		check(dec.Decode(&m))
		if m.ID == "monitor" {
			break
		}
	}
	if m.Error != nil {
		die(fmt.Sprintf("monitor_cond_since: %v", m.Error))
	}
	fmt.Printf("ready initial_bytes=%d\n", cr.n)

	c := &counts{rows: map[string]int{}}
	base := cr.n - int64(dec.Buffered().(*bytes.Reader).Len())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGTERM)
	go func() {
		for s := range sig {
			c.report(os.Stdout)
			if s == syscall.SIGTERM {
				os.Exit(0)
			}
		}
	}()
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			die("southbound monitor: " + err.Error())
		}
		m = rpc{}
		check(json.Unmarshal(raw, &m))
		// Bytes of this message: what was read up to the end of it. The
		// decoder reads ahead, so what it holds unread is not counted yet.
		end := cr.n - int64(dec.Buffered().(*bytes.Reader).Len())
		switch m.Method {
		case "echo":
			send(map[string]any{"id": m.ID, "result": m.Params, "error": nil})
		case "update3", "update2", "update":
			var updates map[string]map[string]json.RawMessage
			if len(m.Params) > 0 {
				_ = json.Unmarshal(m.Params[len(m.Params)-1], &updates)
			}
			c.mu.Lock()
			c.notifications++
			c.bytes += end - base
			c.last = raw
			for t, rows := range updates {
				c.rows[t] += len(rows)
			}
			c.mu.Unlock()
		}
		base = end
	}
}

// ovsdb is a bare JSON-RPC client of an OVSDB server, one request at a time.
type ovsdb struct {
	conn net.Conn
	dec  *json.Decoder
	enc  *json.Encoder
	id   int
}

func dialOVSDB(sock string) *ovsdb {
	conn, err := net.Dial("unix", sock)
	check(err)
	return &ovsdb{conn: conn, dec: json.NewDecoder(conn), enc: json.NewEncoder(conn)}
}

// transact runs ops in one NB transaction; it fails on any error.
func (c *ovsdb) transact(ops ...any) {
	c.id++
	check(c.enc.Encode(map[string]any{"id": c.id, "method": "transact",
		"params": append([]any{"OVN_Northbound"}, ops...)}))
	for {
		var m rpc
		check(c.dec.Decode(&m))
		if m.Method == "echo" {
			check(c.enc.Encode(map[string]any{"id": m.ID, "result": m.Params, "error": nil}))
			continue
		}
		if id, ok := m.ID.(float64); !ok || int(id) != c.id {
			continue
		}
		var results []struct{ Error string }
		check(json.Unmarshal(m.Result, &results))
		for _, r := range results {
			if r.Error != "" {
				die(fmt.Sprintf("transaction %s: %s", m.Result, r.Error))
			}
		}
		return
	}
}

func nbClaims(sock string, claim bool, prefix, column string, n int) {
	if column != "addresses" && column != "external_ids" {
		die("COLUMN is addresses or external_ids")
	}
	c := dialOVSDB(sock)
	var pace time.Duration
	if v := os.Getenv("FANOUT_PACE"); v != "" {
		d, err := time.ParseDuration(v)
		check(err)
		pace = d
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(pace)
		}
		row := fmt.Sprintf("%s_%d", prefix, i/256)
		addr := fmt.Sprintf("10.217.%d.%d", i/256, i%256)
		// The value as the column holds it, and as a condition takes it.
		var val any = addr
		if column == "external_ids" {
			val = []any{"map", []any{[]any{addr, ""}}}
		}
		name := []any{"name", "==", row}
		switch {
		case !claim:
			del := val
			if column == "external_ids" {
				del = []any{"set", []any{addr}} // a map's keys
			}
			c.transact(map[string]any{"op": "mutate", "table": "Address_Set", "where": []any{name},
				"mutations": []any{[]any{column, "delete", del}}})
		case i%256 == 0:
			c.transact(map[string]any{"op": "insert", "table": "Address_Set",
				"row": map[string]any{"name": row, column: val}})
		default:
			c.transact(
				map[string]any{"op": "wait", "table": "Address_Set", "timeout": 0,
					"where":   []any{name, []any{column, "includes", val}},
					"columns": []string{"name"}, "until": "!=", "rows": []any{map[string]string{"name": row}}},
				map[string]any{"op": "mutate", "table": "Address_Set", "where": []any{name},
					"mutations": []any{[]any{column, "insert", val}}})
		}
	}
	busy := time.Since(start) - time.Duration(max(n-1, 0))*pace
	fmt.Fprintf(os.Stderr, "calls=%d seconds=%.3f\n", n, busy.Seconds())
}
