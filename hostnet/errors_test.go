package hostnet

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

// Every error the host side writes that a Docker call can return,
// triggered in a throwaway namespace and held to docs/errors.md by the
// shared checker.

func TestEnsureVethErrorsReadOnce(t *testing.T) {
	t.Run("other device", func(t *testing.T) {
		ns, h := testNS(t)
		run(t, ns, "ip", "link", "add", "ovhtest", "type", "bridge")
		usererrtest.Check(t, h.EnsureVeth(testVeth()), "device ovhtest")
	})
	t.Run("other pair", func(t *testing.T) {
		ns, h := testNS(t)
		run(t, ns, "ip", "link", "add", "ovhtest", "type", "veth", "peer", "name", "someone")
		usererrtest.Check(t, h.EnsureVeth(testVeth()), "peer is someone")
	})
	t.Run("kernel refuses", func(t *testing.T) {
		_, h := testNS(t)
		v := testVeth()
		v.MTU = 70000
		usererrtest.Check(t, h.EnsureVeth(v), "ovhtest")
	})
}

func TestUnmarkedDeviceErrorsReadOnce(t *testing.T) {
	ns, h := testNS(t)
	run(t, ns, "ip", "link", "add", "ovhtest", "type", "veth", "peer", "name", "ovctest")
	for name, err := range map[string]error{
		"DeleteLink": h.DeleteLink("ovhtest", "ovn-docker test"),
		"Retire":     h.Retire("ovhtest", "ovn-docker test"),
	} {
		if !errors.Is(err, ErrNotOurs) {
			t.Errorf("%s: not ErrNotOurs: %v", name, err)
		}
		usererrtest.Check(t, err, "device ovhtest")
	}
	if !exists(t, h, "ovhtest") {
		t.Fatal("an unmarked device was deleted")
	}
}

func TestTxChecksumErrorReadsOnce(t *testing.T) {
	_, h := testNS(t)
	other, _ := testNS(t)
	run(t, other, "ip", "link", "add", "ova", "type", "veth", "peer", "name", "ovb")
	usererrtest.Check(t, h.TxChecksumOff("ova"), "ova")
}

// UnderlayMTU answers a clause: the driver, which knows what the MTU is
// for, makes the sentence (driver/network.go) exactly as here.
func TestNoUnderlayErrorReadsOnce(t *testing.T) {
	_, h := testNS(t)
	_, err := h.UnderlayMTU("172.31.0.1")
	if !errors.Is(err, ErrNoUnderlay) {
		t.Fatalf("not ErrNoUnderlay: %v", err)
	}
	err = usererr.Errorf(nil, "give it with -o com.docker.network.driver.mtu=N",
		"cannot size the MTU of network %s from the underlay (%w)", "f783e94b14db", err)
	usererrtest.Check(t, err, "172.31.0.1")
}

// A kernel older than 4.20 answers a lookup in another namespace for the
// local device with that index, without echoing IFLA_TARGET_NETNSID.
func TestOldKernelErrorReadsOnce(t *testing.T) {
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC).Serialize()
	msg = append(msg, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated("ovctest")).Serialize()...)
	_, err := targetLinkName(msg)
	usererrtest.Check(t, err, "Linux 4.20")
}
