package local_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
)

// Every error the database clients write, triggered against a real
// ovsdb-server and held to docs/errors.md by the shared checker. The
// driver and the IPAM driver pass them to Docker unchanged.

// A server that goes away under a call: the transaction may or may not
// have been applied, so the user is told to try again.
func TestLostConnectionErrorReadsOnce(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	if _, err := o.Bridge(ctx, "br-int"); !errors.Is(err, ovs.ErrNotFound) { // connected
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- o.WaitInstalled(ctx, "ovhnothere", 5*time.Second) }()
	s.WaitHeld(1)
	s.stop()
	err := <-done
	if !errors.Is(err, ovs.ErrUnavailable) {
		t.Errorf("not ovs.ErrUnavailable: %v", err)
	}
	usererrtest.Check(t, err, s.Sock)
}

func TestOVSErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	t.Run("no system-id", func(t *testing.T) {
		_, err := o.SystemID(ctx)
		if !errors.Is(err, ovs.ErrNotFound) {
			t.Errorf("not ovs.ErrNotFound: %v", err)
		}
		usererrtest.Check(t, err, "external_ids:system-id")
	})
	s.vsctl("add-br", "br-int")
	i := testIface()
	t.Run("foreign OVS port", func(t *testing.T) {
		s.vsctl("add-port", "br-int", i.Name, "--", "set", "Interface", i.Name, "external_ids:iface-id=theirs")
		defer s.vsctl("del-port", "br-int", i.Name)
		_, err := o.EnsureInterface(ctx, "br-int", i)
		if !errors.Is(err, ovs.ErrConflict) {
			t.Errorf("not ovs.ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, "OVS port "+i.Name)
		_, err = o.DeleteInterface(ctx, i.Name)
		usererrtest.Check(t, err, "OVS port "+i.Name)
	})
	// An interface of that name in another port (a bond): the guard on
	// the port's name passes, and the server refuses the duplicate
	// interface name at commit.
	t.Run("refused", func(t *testing.T) {
		s.vsctl("add-bond", "br-int", "bond0", i.Name, "ethx")
		_, err := o.EnsureInterface(ctx, "br-int", i)
		var oe *conn.OpError
		if !errors.As(err, &oe) {
			t.Errorf("the server's reason is lost: %v", err)
		}
		usererrtest.Check(t, err, "add port "+i.Name+" to bridge br-int")
	})
}
