package hostnet

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// newNS makes a throwaway named network namespace, deleted when the test
// ends, and returns its name (for the ip command) and a handle to it.
func newNS(t *testing.T) (string, netns.NsHandle) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("hostnet tests need root: they create network namespaces and veth pairs (run as root, e.g. sudo go test ./hostnet/)")
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := fmt.Sprintf("hostnet-%d-%s", os.Getpid(), hex.EncodeToString(suffix))
	ns, err := createNamed(name)
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ns.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name, ns
}

// createNamed runs netns.NewNamed, which moves the calling thread into the
// new namespace, on a thread that is then thrown away (the goroutine ends
// locked), so no test code ever runs in the wrong namespace.
func createNamed(name string) (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.NewNamed(name)
		done <- result{ns, err}
	}()
	r := <-done
	return r.ns, r.err
}

// testNS makes a throwaway namespace and a Host acting in it.
func testNS(t *testing.T) (string, *Host) {
	t.Helper()
	name, ns := newNS(t)
	h, err := NewInNamespace(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return name, h
}

// run runs a command inside the named namespace and returns its output.
func run(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// txCsum is the "tx-checksumming" line of `ethtool -k dev`: "on" or "off".
func txCsum(t *testing.T, ns, dev string) string {
	t.Helper()
	for _, line := range strings.Split(run(t, ns, "ethtool", "-k", dev), "\n") {
		if v, ok := strings.CutPrefix(line, "tx-checksumming: "); ok {
			return v
		}
	}
	t.Fatalf("ethtool -k %s shows no tx-checksumming line", dev)
	return ""
}

// link reads a device through the Host's own netlink handle.
func link(t *testing.T, h *Host, name string) netlink.Link {
	t.Helper()
	l, err := h.nl.LinkByName(name)
	if err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	return l
}

func exists(t *testing.T, h *Host, name string) bool {
	t.Helper()
	ok, err := h.LinkExists(name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// countVeths counts veth devices in the Host's namespace.
func countVeths(t *testing.T, h *Host) int {
	t.Helper()
	links, err := h.nl.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if l.Type() == "veth" {
			n++
		}
	}
	return n
}
