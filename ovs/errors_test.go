package ovs

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

// Every error the database clients write, triggered against a real
// ovsdb-server and held to docs/errors.md by the shared checker. The
// driver and the IPAM driver pass them to Docker unchanged.

func TestUnavailableErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.nb(t).EnsureSwitch(ctx, testSwitch())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("kind or cause lost: %v", err)
	}
	usererrtest.Check(t, err, "OVN northbound database at unix:"+s.Sock)
	usererrtest.Check(t, err, "--nb")
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = s.ovs(t).SystemID(ctx)
	usererrtest.Check(t, err, "local Open vSwitch database at unix:"+s.Sock)
	usererrtest.Check(t, err, "--ovs")
}

// A server that goes away under a call: the transaction may or may not
// have been applied, so the user is told to try again.
func TestLostConnectionErrorReadsOnce(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	if _, err := o.Bridge(ctx, "br-int"); !errors.Is(err, ErrNotFound) { // connected
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- o.WaitInstalled(ctx, "ovhnothere", 5*time.Second) }()
	s.WaitHeld(1)
	s.stop()
	err := <-done
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("not ErrUnavailable: %v", err)
	}
	usererrtest.Check(t, err, s.Sock)
}

func TestNBErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	nb := s.nb(t)
	ctx := testCtx(t)
	t.Run("foreign switch", func(t *testing.T) {
		s.nbctl("ls-add", "docker-f783e94b14db")
		defer s.nbctl("ls-del", "docker-f783e94b14db")
		_, err := nb.EnsureSwitch(ctx, testSwitch())
		if !errors.Is(err, ErrConflict) {
			t.Errorf("not ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, "docker-f783e94b14db")
	})
	if _, err := nb.EnsureSwitch(ctx, testSwitch()); err != nil {
		t.Fatal(err)
	}
	s.nbctl("ls-add", "other", "--", "lsp-add", "other", "theirs")
	t.Run("foreign port", func(t *testing.T) {
		_, err := nb.EnsurePort(ctx, testPort("theirs"))
		if !errors.Is(err, ErrConflict) {
			t.Errorf("not ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, "logical port theirs")
	})
	t.Run("delete foreign port", func(t *testing.T) {
		_, err := nb.DeletePort(ctx, "theirs")
		usererrtest.Check(t, err, "logical port theirs")
	})
	t.Run("row gone", func(t *testing.T) {
		_, err := nb.Port(ctx, "nothere")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("not ErrNotFound: %v", err)
		}
		usererrtest.Check(t, err, "nothere")
	})
}

func TestIPAMStoreErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	nb := s.nb(t)
	ctx := testCtx(t)
	subnet := netip.MustParsePrefix("10.9.0.0/24")
	pool := IPAMPool{Name: PoolRowName("ovnlocal", subnet), Space: "ovnlocal", Subnet: subnet}
	if err := nb.CreateIPAMPool(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	t.Run("pool name taken", func(t *testing.T) {
		snap, err := nb.IPAMSnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = nb.CreateIPAMPool(ctx, pool, snap.Generation)
		if !errors.Is(err, ErrConflict) {
			t.Errorf("not ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, pool.Name)
	})
	t.Run("generation not a number", func(t *testing.T) {
		err := nb.CreateIPAMPool(ctx, pool, "abc")
		usererrtest.Check(t, err, `"abc"`)
	})
	t.Run("address taken", func(t *testing.T) {
		a := netip.MustParseAddr("10.9.0.5")
		if err := nb.IPAMClaim(ctx, pool.Name, "0", a, false); err != nil {
			t.Fatal(err)
		}
		err := nb.IPAMClaim(ctx, pool.Name, "0", a, false)
		if !errors.Is(err, ErrTaken) {
			t.Errorf("not ErrTaken: %v", err)
		}
		usererrtest.Check(t, err, "10.9.0.5")
	})
}

func TestOVSErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	t.Run("no system-id", func(t *testing.T) {
		_, err := o.SystemID(ctx)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("not ErrNotFound: %v", err)
		}
		usererrtest.Check(t, err, "external_ids:system-id")
	})
	s.vsctl("add-br", "br-int")
	i := testIface()
	t.Run("foreign OVS port", func(t *testing.T) {
		s.vsctl("add-port", "br-int", i.Name, "--", "set", "Interface", i.Name, "external_ids:iface-id=theirs")
		defer s.vsctl("del-port", "br-int", i.Name)
		_, err := o.EnsureInterface(ctx, "br-int", i)
		if !errors.Is(err, ErrConflict) {
			t.Errorf("not ErrConflict: %v", err)
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
		var oe *OpError
		if !errors.As(err, &oe) {
			t.Errorf("the server's reason is lost: %v", err)
		}
		usererrtest.Check(t, err, "add port "+i.Name+" to bridge br-int")
	})
}

// failed words what a transaction meant to do; a bare reason never
// reaches a user.
func TestFailedTransactionsReadOnce(t *testing.T) {
	s := startServer(t)
	nb := s.nb(t)
	refused := &OpError{Index: 2, Kind: "constraint violation", Details: "the switch is in use"}
	err := nb.failed(refused, "create logical switch docker-f783e94b14db")
	usererrtest.Check(t, err, "create logical switch docker-f783e94b14db")
	err = nb.failed(errors.New("2 operations sent but 1 results received"), "delete logical port ep1")
	usererrtest.Check(t, err, "delete logical port ep1")
	if again := nb.failed(err, "other"); again != err {
		t.Errorf("a sentence was wrapped again: %v", again)
	}
	// A connection libovsdb reports down: said with its reason.
	err = nb.unavailable(client.ErrNotConnected)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, client.ErrNotConnected) {
		t.Errorf("kind or cause lost: %v", err)
	}
	usererrtest.Check(t, err, s.Sock)
}
