// Package bench measures the endpoint life cycle (CreateEndpoint, Join,
// Leave, DeleteEndpoint) against the real local OVN and OVS, through the
// plugin's HTTP socket, and the same work done the way OVN's original Python
// driver did it: one ovn-nbctl, ovs-vsctl or ip process per step.
// Results and the command are in docs/benchmarks.md.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/driver"
	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/ipam"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
	"github.com/ovn-docker/ovn-docker/plugin"
)

func TestMain(m *testing.M) {
	for _, c := range [][]string{{"ovn-nbctl", "--timeout=5", "show"}, {"ovs-vsctl", "--timeout=5", "br-exists", "br-int"}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: environment not ready (%s: %v %s); run test/env/up.sh\n", strings.Join(c, " "), err, out)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// server runs the real daemon's pieces in process on a private socket.
type server struct {
	c   *http.Client
	nid string
	nb  *nb.Client
}

func startServer(b *testing.B, ready time.Duration) *server { return startServerWith(b, ready, nil) }

// startServerWith creates the network with the driver options generic.
func startServerWith(b *testing.B, ready time.Duration, generic map[string]string) *server {
	b.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	nbc, err := nb.New(conn.Config{Endpoints: []string{"unix:/var/run/ovn/ovnnb_db.sock"}, LeaderOnly: true, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	vs, err := local.New(conn.Config{Endpoints: []string{"unix:/var/run/openvswitch/db.sock"}, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	links, err := hostnet.New()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nbc.Run(ctx)
	vs.Run(ctx)
	d := driver.New(nbc, vs, links, driver.Config{ReadyTimeout: ready, Log: log})
	sock := filepath.Join(b.TempDir(), "bench.sock")
	l, err := plugin.Listen(sock, -1)
	if err != nil {
		b.Fatal(err)
	}
	go plugin.New(d, ipam.NewManager(store.New(nbc), ipam.Config{Log: log, SystemID: vs.SystemID}), plugin.Config{CallTimeout: 30 * time.Second, Log: log}).Serve(l)
	s := &server{nid: fmt.Sprintf("%064x", time.Now().UnixNano()), nb: nbc, c: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}}
	s.call(b, "CreateNetwork", map[string]any{"NetworkID": s.nid, "Options": map[string]any{"com.docker.network.generic": generic},
		"IPv4Data": []map[string]string{{"Pool": "10.200.0.0/16", "Gateway": "10.200.0.1/16"}}})
	b.Cleanup(func() {
		s.call(b, "DeleteNetwork", map[string]any{"NetworkID": s.nid})
		l.Close()
		d.Close()
		cancel()
		nbc.Close()
		vs.Close()
		links.Close()
	})
	return s
}

func (s *server) call(b *testing.B, name string, req any) {
	body, _ := json.Marshal(req)
	resp, err := s.c.Post("http://plugin/NetworkDriver."+name, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Err string }
	json.NewDecoder(resp.Body).Decode(&out)
	if out.Err != "" {
		b.Fatalf("%s: %s", name, out.Err)
	}
}

// cycle is one container's worth of driver calls.
func (s *server) cycle(b *testing.B, i int) { s.cycleWith(b, i, false) }

// cycleWith is cycle with the container exposing ports, or not.
func (s *server) cycleWith(b *testing.B, i int, exposed bool) {
	ep := s.endpoint(b, i, exposed)
	s.call(b, "Join", joinRequest(ep, exposed))
	s.call(b, "Leave", ep)
	s.call(b, "DeleteEndpoint", ep)
}

// joinRequest is the Join of endpoint ep, with the exposed ports' options.
func joinRequest(ep map[string]any, exposed bool) map[string]any {
	join := map[string]any{"NetworkID": ep["NetworkID"], "EndpointID": ep["EndpointID"], "SandboxKey": "/var/run/docker/netns/bench"}
	if exposed {
		join["Options"] = exposedOptions
	}
	return join
}

// exposedOptions are what Docker sends for --expose 80 --expose 53/udp.
var exposedOptions = map[string]any{"com.docker.network.endpoint.exposedports": []map[string]int{{"Proto": 6, "Port": 80}, {"Proto": 17, "Port": 53}}}

// endpoint makes endpoint i; exposed, it exposes two ports as docker run
// --expose 80 --expose 53/udp would.
func (s *server) endpoint(b *testing.B, i int, exposed bool) map[string]any {
	return s.endpointWithID(b, fmt.Sprintf("%016x%048x", time.Now().UnixNano(), i), i, exposed)
}

func (s *server) endpointWithID(b *testing.B, id string, i int, exposed bool) map[string]any {
	ep := map[string]any{"NetworkID": s.nid, "EndpointID": id}
	req := map[string]any{"NetworkID": ep["NetworkID"], "EndpointID": ep["EndpointID"],
		"Interface": map[string]string{"Address": fmt.Sprintf("10.200.%d.%d/16", 1+i/250, 1+i%250)}}
	if exposed {
		req["Options"] = exposedOptions
	}
	s.call(b, "CreateEndpoint", req)
	return ep
}

// BenchmarkDriverCycle: the driver without Join's wait for ovn-installed,
// to compare like with like (the Python driver never waited).
func BenchmarkDriverCycle(b *testing.B) {
	s := startServer(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.cycle(b, i)
	}
}

// BenchmarkDriverCycleWithWait: the driver as it runs by default, Join
// waiting until ovn-controller has installed the port's flows.
func BenchmarkDriverCycleWithWait(b *testing.B) {
	s := startServer(b, 5*time.Second)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.cycle(b, i)
	}
}

func sh(b *testing.B, args ...string) string {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// BenchmarkPythonDriverCycle repeats, command for command, what OVN's
// ovn-docker-overlay-driver ran for the same four calls.
func BenchmarkPythonDriverCycle(b *testing.B) {
	ls := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	sh(b, "ovn-nbctl", "ls-add", ls)
	b.Cleanup(func() { exec.Command("ovn-nbctl", "--if-exists", "ls-del", ls).Run() })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pythonCycle(b, ls, fmt.Sprintf("%016x%048x", time.Now().UnixNano(), i), i)
	}
}

// pythonCycle is the Python driver's four calls for endpoint eid, number i.
func pythonCycle(b *testing.B, ls, eid string, i int) {
	mac := fmt.Sprintf("02:00:00:%02x:%02x:%02x", i/65536%256, i/256%256, i%256)
	ip := fmt.Sprintf("10.201.%d.%d", 1+i/250, 1+i%250)
	outside, inside := eid[:15], eid[:13]+"_c"
	// CreateEndpoint
	sh(b, "ovn-nbctl", "lsp-add", ls, eid)
	sh(b, "ovn-nbctl", "lsp-set-addresses", eid, mac+" "+ip)
	// Join
	sh(b, "ovn-nbctl", "--if-exists", "get", "Logical_Switch_Port", eid, "addresses")
	sh(b, "ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
	sh(b, "ip", "link", "set", "dev", inside, "address", mac)
	sh(b, "ip", "link", "set", outside, "up")
	sh(b, "ovs-vsctl", "--timeout=5", "add-port", "br-int", outside)
	sh(b, "ovs-vsctl", "--timeout=5", "set", "interface", outside, "external_ids:attached-mac="+mac,
		"external_ids:iface-id="+eid, "external_ids:vm-id=bench", "external_ids:iface-status=active")
	// Leave
	sh(b, "ip", "link", "delete", outside)
	sh(b, "ovs-vsctl", "--timeout=5", "--if-exists", "del-port", outside)
	// DeleteEndpoint
	sh(b, "ovn-nbctl", "lsp-del", eid)
}
