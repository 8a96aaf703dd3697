package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/docker/go-plugins-helpers/ipam"
	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/driver"
)

// recorder is a NetworkDriver that records what reached it.
type recorder struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (r *recorder) note(call string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	return r.err
}

func (r *recorder) GetCapabilities() *driver.Capabilities {
	return &driver.Capabilities{Scope: "local", ConnectivityScope: "global", GwAllocChecker: true}
}
func (r *recorder) GwAllocCheck(_ context.Context, q *driver.GwAllocCheckRequest) (*driver.GwAllocCheckResponse, error) {
	return &driver.GwAllocCheckResponse{SkipIPv4: q.Options["com.docker.network.internal"] == true}, r.note("GwAllocCheck")
}
func (r *recorder) CreateNetwork(_ context.Context, q *network.CreateNetworkRequest) error {
	return r.note("CreateNetwork " + q.NetworkID[:12])
}
func (r *recorder) DeleteNetwork(_ context.Context, q *network.DeleteNetworkRequest) error {
	return r.note("DeleteNetwork " + q.NetworkID[:12])
}
func (r *recorder) AllocateNetwork(*network.AllocateNetworkRequest) *network.AllocateNetworkResponse {
	return &network.AllocateNetworkResponse{}
}
func (r *recorder) FreeNetwork(*network.FreeNetworkRequest) {}
func (r *recorder) CreateEndpoint(_ context.Context, q *network.CreateEndpointRequest) (*network.CreateEndpointResponse, error) {
	return &network.CreateEndpointResponse{}, r.note("CreateEndpoint " + q.Interface.Address)
}
func (r *recorder) EndpointOperInfo(context.Context, *network.InfoRequest) (*network.InfoResponse, error) {
	return &network.InfoResponse{Value: map[string]string{}}, nil
}
func (r *recorder) DeleteEndpoint(_ context.Context, q *network.DeleteEndpointRequest) error {
	return r.note("DeleteEndpoint " + q.EndpointID[:12])
}
func (r *recorder) Join(_ context.Context, q *network.JoinRequest) (*driver.JoinResponse, error) {
	return &driver.JoinResponse{InterfaceName: driver.InterfaceName{SrcName: "x", DstPrefix: "eth"}}, r.note("Join " + q.SandboxKey)
}
func (r *recorder) Leave(_ context.Context, q *network.LeaveRequest) error {
	return r.note("Leave " + q.EndpointID[:12])
}
func (r *recorder) ProgramExternalConnectivity(_ context.Context, q *network.ProgramExternalConnectivityRequest) error {
	return r.note("ProgramExternalConnectivity " + q.EndpointID[:12])
}
func (r *recorder) RevokeExternalConnectivity(_ context.Context, q *network.RevokeExternalConnectivityRequest) error {
	return r.note("RevokeExternalConnectivity " + q.EndpointID[:12])
}

// fakeIPAM answers IPAM calls and records RequestPool's subnet.
type fakeIPAM struct{ pools []string }

func (f *fakeIPAM) Capabilities() *ipam.CapabilitiesResponse { return &ipam.CapabilitiesResponse{} }
func (f *fakeIPAM) AddressSpaces() *ipam.AddressSpacesResponse {
	return &ipam.AddressSpacesResponse{LocalDefaultAddressSpace: "ovnlocal", GlobalDefaultAddressSpace: "ovnglobal"}
}
func (f *fakeIPAM) RequestPool(_ context.Context, r *ipam.RequestPoolRequest) (*ipam.RequestPoolResponse, error) {
	f.pools = append(f.pools, r.Pool+" "+r.SubPool)
	return &ipam.RequestPoolResponse{PoolID: "ovnlocal/" + r.Pool, Pool: r.Pool}, nil
}
func (f *fakeIPAM) ReleasePool(context.Context, *ipam.ReleasePoolRequest) error { return nil }
func (f *fakeIPAM) RequestAddress(_ context.Context, r *ipam.RequestAddressRequest) (*ipam.RequestAddressResponse, error) {
	return nil, errors.New("pool 10.77.0.0/24 has no free addresses")
}
func (f *fakeIPAM) ReleaseAddress(context.Context, *ipam.ReleaseAddressRequest) error { return nil }

// serve starts the plugin on a socket in a temporary directory.
func serve(t *testing.T, d NetworkDriver) *http.Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "plugin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "openvswitch.sock")
	l, err := Listen(sock, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, %v; want 0660", fi.Mode().Perm(), err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	go New(d, &fakeIPAM{}, Config{Log: log}).Serve(l)
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

func post(t *testing.T, c *http.Client, path string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := c.Post("http://plugin"+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: reply is not JSON: %v", path, err)
	}
	return resp.StatusCode, out
}

func fixtureBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "docker-20.10", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestActivateDeclaresBothRoles(t *testing.T) {
	c := serve(t, &recorder{})
	_, out := post(t, c, "/Plugin.Activate", nil)
	impl, _ := json.Marshal(out["Implements"])
	if string(impl) != `["NetworkDriver","IpamDriver"]` {
		t.Fatalf("Implements = %s", impl)
	}
	_, caps := post(t, c, "/NetworkDriver.GetCapabilities", []byte("null"))
	if caps["Scope"] != "local" || caps["ConnectivityScope"] != "global" {
		t.Fatalf("capabilities %v", caps)
	}
	_, spaces := post(t, c, "/IpamDriver.GetDefaultAddressSpaces", nil)
	if spaces["LocalDefaultAddressSpace"] != "ovnlocal" || spaces["GlobalDefaultAddressSpace"] != "ovnglobal" {
		t.Fatalf("address spaces %v", spaces)
	}
	if _, pool := post(t, c, "/IpamDriver.RequestPool", fixtureBytes(t, "IpamDriver.RequestPool.subpool.json")); pool["PoolID"] != "ovnlocal/10.77.0.0/24" {
		t.Fatalf("RequestPool reply %v", pool)
	}
}

// Every body either engine sent decodes and reaches the driver.
func TestEveryRecordedBodyDecodes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*.json"))
	if len(files) < 40 {
		t.Fatalf("only %d recorded bodies", len(files))
	}
	c := serve(t, &recorder{})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		path := "/" + strings.Join(strings.SplitN(name, ".", 3)[:2], ".")
		if status, out := post(t, c, path, b); status == 400 || status == 404 {
			t.Errorf("%s: %d %v", f, status, out)
		}
	}
}

func TestRecordedRequestsReachTheDriver(t *testing.T) {
	r := &recorder{}
	c := serve(t, r)
	for _, name := range []string{
		"NetworkDriver.CreateNetwork.full.json", "NetworkDriver.CreateEndpoint.ports.json",
		"NetworkDriver.Join.json", "NetworkDriver.Leave.json", "NetworkDriver.DeleteEndpoint.json",
		"NetworkDriver.DeleteNetwork.json",
	} {
		path := "/" + strings.Join(strings.SplitN(name, ".", 3)[:2], ".")
		if status, out := post(t, c, path, fixtureBytes(t, name)); status != 200 || out["Err"] != nil {
			t.Fatalf("%s: %d %v", name, status, out)
		}
	}
	want := "CreateNetwork 24e2ae841211|CreateEndpoint 10.77.0.50/24|Join /var/run/docker/netns/cd7aaa103163|Leave 0ba3fc4a3da1|DeleteEndpoint 0ba3fc4a3da1|DeleteNetwork f783e94b14db"
	if got := strings.Join(r.calls, "|"); got != want {
		t.Fatalf("calls\n got %s\nwant %s", got, want)
	}
}

func TestErrorsAreOneSentenceInErr(t *testing.T) {
	r := &recorder{err: errors.New(`invalid MTU "abc": it must be a whole number from 68 to 65535`)}
	c := serve(t, r)
	status, out := post(t, c, "/NetworkDriver.CreateNetwork", fixtureBytes(t, "NetworkDriver.CreateNetwork.full.json"))
	if status != 500 || out["Err"] != r.err.Error() {
		t.Fatalf("%d %v", status, out)
	}
}

func TestBadRequests(t *testing.T) {
	r := &recorder{}
	c := serve(t, r)
	for _, tc := range []struct {
		path   string
		body   []byte
		status int
		want   string
	}{
		{"/NetworkDriver.Nope", []byte("{}"), 404, "unknown call /NetworkDriver.Nope"},
		{"/", nil, 404, "unknown call /"},
		{"/NetworkDriver.CreateNetwork", []byte(`{"NetworkID":`), 400, "malformed request"},
		{"/NetworkDriver.CreateNetwork", []byte(`{"NetworkID":5}`), 400, "malformed request"},
		{"/NetworkDriver.Join", bytes.Repeat([]byte(" "), MaxBodyBytes+1), 400, "over the 1048576-byte limit"},
		{"/IpamDriver.RequestAddress", fixtureBytes(t, "IpamDriver.RequestAddress.any-with-mac.json"), 500, "pool 10.77.0.0/24 has no free addresses"},
		{"/IpamDriver.RequestPool", []byte(`{"V6":"yes"}`), 400, "malformed request"},
	} {
		status, out := post(t, c, tc.path, tc.body)
		if status != tc.status || !strings.Contains(out["Err"].(string), tc.want) {
			t.Errorf("%s: %d %v; want %d and %q", tc.path, status, out, tc.status, tc.want)
		}
	}
	if len(r.calls) != 0 {
		t.Fatalf("bad requests reached the driver: %v", r.calls)
	}
}

func TestListenReplacesStaleSocketOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.sock")
	os.WriteFile(path, []byte("not a socket"), 0o644)
	if _, err := Listen(path, -1); err == nil {
		t.Fatal("a regular file was replaced")
	}
	os.Remove(path)
	l1, err := Listen(path, -1)
	if err != nil {
		t.Fatal(err)
	}
	l1.(*net.UnixListener).SetUnlinkOnClose(false)
	l1.Close()
	l2, err := Listen(path, -1)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l2.Close()
	// A live socket is left to its server: the second daemon refuses to
	// start, and the first still gets its connections.
	if _, err := Listen(path, -1); err == nil || !strings.Contains(err.Error(), "already serving "+path) {
		t.Fatalf("a live socket was taken over: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live server lost its socket: %v", err)
	}
	c.Close()
}

// One debug line per call with its IDs and duration; failures are warnings
// carrying the IDs too.
func TestOneLogLinePerCall(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "p.sock")
	l, err := Listen(sock, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var buf safeBuffer
	log := logrus.New()
	log.SetOutput(&buf)
	log.SetLevel(logrus.DebugLevel)
	log.SetFormatter(&logrus.JSONFormatter{})
	r := &recorder{}
	go New(r, &fakeIPAM{}, Config{Log: log}).Serve(l)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	post(t, c, "/NetworkDriver.Leave", fixtureBytes(t, "NetworkDriver.Leave.json"))
	r.err = errors.New("boom")
	post(t, c, "/NetworkDriver.DeleteEndpoint", fixtureBytes(t, "NetworkDriver.DeleteEndpoint.json"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines:\n%s", len(lines), buf.String())
	}
	for i, want := range []map[string]string{
		{"level": "debug", "call": "/NetworkDriver.Leave"},
		{"level": "warning", "call": "/NetworkDriver.DeleteEndpoint", "error": "boom"},
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("line %d: %s = %v, want %s", i, k, m[k], v)
			}
		}
		if m["EndpointID"] != "0ba3fc4a3da1f9f453340558f9df4e94f84ab7c24c691aa961ef7388c4b2c9bd" || m["took"] == nil {
			t.Errorf("line %d lacks the endpoint ID or the duration: %v", i, m)
		}
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestSocketGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.sock")
	l, err := Listen(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Gid != 1 || st.Uid != 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket uid %d gid %d mode %v; want root, group 1, 0660", st.Uid, st.Gid, fi.Mode().Perm())
	}
}
