package local_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/local"
)

func testIface() local.Iface {
	return local.Iface{Name: "ovh0ba3fc4a3da1", LogicalPort: "0ba3fc4a", MAC: "02:42:a4:45:1f:a6", EndpointID: "0ba3fc4a"}
}

func TestSystemIDAndBridge(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	if _, err := o.SystemID(ctx); !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("SystemID without one: %v", err)
	}
	if _, err := o.Bridge(ctx, "br-int"); !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("Bridge before add-br: %v", err)
	}
	s.vsctl("set", "open", ".", "external-ids:system-id=host1", "external-ids:ovn-encap-ip=172.31.0.1")
	s.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev")
	// Written by another client: a client connecting now starts from a
	// snapshot that has it, as the daemon does after a restart.
	o = s.ovs(t)
	id, err := o.SystemID(ctx)
	if id != "host1" {
		t.Fatalf("SystemID = %q, %v", id, err)
	}
	br, err := o.Bridge(ctx, "br-int")
	if err != nil || !br.Userspace() {
		t.Fatalf("Bridge = %+v, %v", br, err)
	}
	if ip, _ := o.EncapIP(ctx); ip != "172.31.0.1" {
		t.Fatalf("EncapIP = %q", ip)
	}
}

func TestInterfaceLifecycle(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	i := testIface()
	if _, err := o.EnsureInterface(ctx, "br-int", i); !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("EnsureInterface on missing bridge: %v", err)
	}
	if got := s.vsctl("--bare", "--columns=name", "list", "Interface"); got != "" {
		t.Fatalf("interface left behind: %q", got)
	}
	s.vsctl("add-br", "br-int")
	for i2, want := range []bool{true, false} {
		created, err := o.EnsureInterface(ctx, "br-int", i)
		if err != nil || created != want {
			t.Fatalf("EnsureInterface #%d: %v %v", i2, created, err)
		}
	}
	if got := s.vsctl("list-ports", "br-int"); got != i.Name {
		t.Fatalf("ports on br-int: %q", got)
	}
	ids := s.vsctl("get", "Interface", i.Name, "external_ids")
	for _, want := range []string{`iface-id="0ba3fc4a"`, `attached-mac="02:42:a4:45:1f:a6"`, `iface-status=active`, `"docker:owner"=ovn-docker`} {
		if !strings.Contains(ids, want) {
			t.Errorf("external_ids %s lacks %s", ids, want)
		}
	}
	other := i
	other.LogicalPort = "someone-else"
	if _, err := o.EnsureInterface(ctx, "br-int", other); !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("EnsureInterface with another binding: %v", err)
	}
	for n := 0; n < 2; n++ {
		if _, err := o.DeleteInterface(ctx, i.Name); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.vsctl("list-ports", "br-int"); got != "" {
		t.Fatalf("ports left on br-int: %q", got)
	}
	if got := s.vsctl("--bare", "--columns=name", "list", "Interface"); got != "br-int" {
		t.Fatalf("interfaces left: %q", got)
	}
}

func TestDeleteInterfaceRefusesForeignPort(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	s.vsctl("add-br", "br-int", "--", "add-port", "br-int", "theirs")
	if _, err := o.DeleteInterface(testCtx(t), "theirs"); !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("got %v, want ovs.ErrConflict", err)
	}
	if got := s.vsctl("list-ports", "br-int"); got != "theirs" {
		t.Fatalf("foreign port touched: %q", got)
	}
}

func TestWaitInstalled(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	s.vsctl("add-br", "br-int")
	i := testIface()
	if _, err := o.EnsureInterface(ctx, "br-int", i); err != nil {
		t.Fatal(err)
	}
	// ovs.ErrNotInstalled comes only from the server's own timeout of the
	// held wait, not from the client giving up.
	if err := o.WaitInstalled(ctx, i.Name, 200*time.Millisecond); !errors.Is(err, ovs.ErrNotInstalled) {
		t.Fatalf("WaitInstalled before ovn-controller: %v", err)
	}
	// While one wait is held by the server, the same client keeps working.
	done := make(chan error, 1)
	go func() { done <- o.WaitInstalled(ctx, i.Name, 30*time.Second) }()
	s.WaitHeld(1)
	other := local.Iface{Name: "other", LogicalPort: "x", EndpointID: "x"}
	if _, err := o.EnsureInterface(ctx, "br-int", other); err != nil {
		t.Fatalf("transaction during a held wait: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("wait returned early: %v", err)
	default:
	}
	s.vsctl("set", "Interface", i.Name, "external_ids:ovn-installed=true")
	if err := <-done; err != nil {
		t.Fatalf("WaitInstalled after ovn-installed: %v", err)
	}
	got, err := s.ovs(t).Interface(ctx, i.Name)
	if err != nil || !got.Installed {
		t.Fatalf("Interface after ovn-installed: %+v, %v", got, err)
	}
}
