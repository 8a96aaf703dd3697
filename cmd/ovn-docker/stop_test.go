package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// safety bounds waits for events that must come; it is never slept.
const safety = 30 * time.Second

// daemonUnderTest is runServer in a goroutine with systemd's notify socket.
type daemonUnderTest struct {
	sock   string
	notify *net.UnixConn
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T, dir string, args ...string) *daemonUnderTest {
	t.Helper()
	n, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "notify"))
	d := &daemonUnderTest{sock: filepath.Join(dir, "openvswitch.sock"), notify: n, done: make(chan error, 1)}
	cfg, err := parseServeFlags(append([]string{"--socket", d.sock}, args...), noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() { d.done <- runServer(ctx, cfg, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(safety):
			t.Error("daemon did not stop")
		}
	})
	if got := d.notified(t); got != "READY=1" {
		t.Fatalf("systemd told %q, want READY=1", got)
	}
	return d
}

// notified is the next message to systemd.
func (d *daemonUnderTest) notified(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 256)
	d.notify.SetReadDeadline(time.Now().Add(safety))
	n, err := d.notify.Read(buf)
	if err != nil {
		t.Fatalf("no message to systemd: %v", err)
	}
	return string(buf[:n])
}

func (d *daemonUnderTest) post(path, body string) (*http.Response, error) {
	c := &http.Client{Timeout: safety, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
	}}}
	return c.Post("http://p"+path, "", strings.NewReader(body))
}

func (d *daemonUnderTest) stopped(t *testing.T) {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("runServer: %v", err)
		}
	case <-time.After(safety):
		t.Fatal("daemon did not stop")
	}
}

// A stop tells systemd, and leaves no socket behind and nothing answering.
func TestStopRemovesSocketAndTellsSystemd(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "--nb", "unix:"+dir+"/nb.sock", "--ovs", "unix:"+dir+"/db.sock")
	d.cancel()
	if got := d.notified(t); got != "STOPPING=1" {
		t.Fatalf("systemd told %q, want STOPPING=1", got)
	}
	d.stopped(t)
	if _, err := os.Lstat(d.sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}
	if c, err := net.Dial("unix", d.sock); err == nil {
		c.Close()
		t.Fatal("something still answers on the socket")
	}
}

// A second daemon on the socket of a live one refuses to start, and the
// first keeps serving.
func TestSecondDaemonRefusesLiveSocket(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "--nb", "unix:"+dir+"/nb.sock", "--ovs", "unix:"+dir+"/db.sock")
	cfg, err := parseServeFlags([]string{"--socket", d.sock, "--nb", "unix:" + dir + "/nb.sock",
		"--ovs", "unix:" + dir + "/db.sock"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	err = runServer(context.Background(), cfg, log)
	if err == nil || !strings.Contains(err.Error(), "already serving "+d.sock+"; stop it first") {
		t.Fatalf("second daemon: %v", err)
	}
	resp, err := d.post("/Plugin.Activate", "")
	if err != nil {
		t.Fatalf("first daemon lost its socket: %v", err)
	}
	resp.Body.Close()
}

// A call in flight when the stop begins gets its answer, from databases
// still open, while the socket is already gone. The call is RequestPool on
// a fresh NB, held at its first write (creating the IPAM generation row):
// its second write, the pool, fails unless the databases stay open until
// the call is done.
func TestStopLetsCallsInFlightAnswer(t *testing.T) {
	srv := ovsdbtest.Start(t)
	srv.Vsctl("set", "Open_vSwitch", ".", "external_ids:system-id=host1")
	dir := t.TempDir()
	const subnet = "10.77.0.0/24"
	nb := holdFirst(t, filepath.Join(dir, "nb.sock"), srv.Sock, `"insert"`, `"ovn_docker_ipam"`)
	d := startDaemon(t, dir, "--nb", "unix:"+filepath.Join(dir, "nb.sock"), "--ovs", srv.Endpoint(), "--ovn-timeout", "20s")

	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := d.post("/IpamDriver.RequestPool", `{"AddressSpace":"ovnlocal","Pool":"`+subnet+`"}`)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, b, err}
	}()
	select {
	case <-nb.held:
	case <-time.After(safety):
		t.Fatal("RequestPool never reached NB")
	}

	gone := watchRemoval(t, dir, filepath.Base(d.sock))
	d.cancel()
	if got := d.notified(t); got != "STOPPING=1" {
		t.Fatalf("systemd told %q, want STOPPING=1", got)
	}
	select {
	case <-gone:
	case <-time.After(safety):
		t.Fatal("socket not removed at the stop")
	}
	if c, err := net.Dial("unix", d.sock); err == nil {
		c.Close()
		t.Fatal("new connections accepted while stopping")
	}
	select {
	case err := <-d.done:
		t.Fatalf("stopped with a call in flight: %v", err)
	default:
	}

	nb.release()
	a := <-answered
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("call in flight: %d %s %v", a.status, a.body, a.err)
	}
	var r struct{ PoolID string }
	if err := json.Unmarshal(a.body, &r); err != nil || r.PoolID != "ovnlocal/"+subnet {
		t.Fatalf("call in flight answered %s", a.body)
	}
	d.stopped(t)
}

// heldProxy forwards OVSDB connections to a server, holding back the
// first client message that contains every mark, until released; the
// messages after it on that connection wait behind it.
type heldProxy struct {
	held    chan struct{} // closed when the message is held
	gate    chan struct{} // closed by release
	release func()
	once    sync.Once
	marks   [][]byte
}

func holdFirst(t *testing.T, listen, server string, marks ...string) *heldProxy {
	t.Helper()
	l, err := net.Listen("unix", listen)
	if err != nil {
		t.Fatal(err)
	}
	p := &heldProxy{held: make(chan struct{}), gate: make(chan struct{})}
	for _, m := range marks {
		p.marks = append(p.marks, []byte(m))
	}
	var releaseOnce sync.Once
	p.release = func() { releaseOnce.Do(func() { close(p.gate) }) }
	t.Cleanup(func() { p.release(); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", server)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(c, s); c.Close() }()
			go p.forward(s, c)
		}
	}()
	return p
}

func (p *heldProxy) forward(to, from net.Conn) {
	defer to.Close()
	dec := json.NewDecoder(from)
	for {
		var msg json.RawMessage
		if err := dec.Decode(&msg); err != nil {
			return
		}
		if p.matches(msg) {
			p.once.Do(func() {
				close(p.held)
				<-p.gate
			})
		}
		if _, err := to.Write(msg); err != nil {
			return
		}
	}
}

func (p *heldProxy) matches(msg []byte) bool {
	for _, m := range p.marks {
		if !bytes.Contains(msg, m) {
			return false
		}
	}
	return true
}

// watchRemoval is closed when name is removed from dir.
func watchRemoval(t *testing.T, dir, name string) <-chan struct{} {
	t.Helper()
	// Non-blocking, so that closing the file at cleanup ends the Read.
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_DELETE); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	gone := make(chan struct{})
	f := os.NewFile(uintptr(fd), "inotify")
	t.Cleanup(func() { f.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			// struct inotify_event: wd, mask, cookie, len, then len bytes of name.
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				l := int(binary.NativeEndian.Uint32(buf[off+12:]))
				off += unix.SizeofInotifyEvent
				if strings.TrimRight(string(buf[off:off+l]), "\x00") == name {
					close(gone)
					return
				}
				off += l
			}
		}
	}()
	return gone
}
