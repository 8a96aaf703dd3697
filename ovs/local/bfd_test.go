package local_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/ovs"
)

// Tunnels running BFD count as down until BFD forwards on them; WaitBFD
// returns once it does on all it was given.
func TestWaitBFD(t *testing.T) {
	s := startServer(t)
	o := s.ovs(t)
	ctx := testCtx(t)
	s.vsctl("add-br", "br-int")
	for _, gw := range []string{"gw1", "gw2"} {
		tun := "ovn-" + gw + "-0"
		s.vsctl("add-port", "br-int", tun, "--", "set", "Interface", tun, "type=geneve", "options:remote_ip=192.0.2.1")
	}
	if down, err := o.BFDDown(ctx); len(down) != 0 || err != nil {
		t.Fatalf("no BFD anywhere: %v %v", down, err)
	}
	s.vsctl("set", "Interface", "ovn-gw1-0", "bfd:enable=true", "bfd_status:forwarding=false")
	s.vsctl("set", "Interface", "ovn-gw2-0", "bfd:enable=true")
	down, err := o.BFDDown(ctx)
	if fmt.Sprint(down) != "[ovn-gw1-0 ovn-gw2-0]" || err != nil {
		t.Fatalf("BFD not up: %v %v", down, err)
	}
	if err := o.WaitBFD(ctx, down, 200*time.Millisecond); !errors.Is(err, ovs.ErrNotInstalled) {
		t.Fatalf("BFD not up: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- o.WaitBFD(ctx, down, 30*time.Second) }()
	s.WaitHeld(1)
	s.vsctl("set", "Interface", "ovn-gw1-0", "bfd_status:forwarding=true")
	select {
	case err := <-done:
		t.Fatalf("returned with one tunnel down: %v", err)
	default:
	}
	s.vsctl("set", "Interface", "ovn-gw2-0", "bfd_status:forwarding=true")
	if err := <-done; err != nil {
		t.Fatalf("BFD up: %v", err)
	}
	if down, err := o.BFDDown(ctx); len(down) != 0 || err != nil {
		t.Fatalf("BFD up: %v %v", down, err)
	}
}
