package hostnet

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// ethtoolValue is struct ethtool_value from linux/ethtool.h.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with ifr_data set. The pointer stays an
// unsafe.Pointer (not a uintptr) so the garbage collector keeps what it
// points to alive during the ioctl; x/sys/unix keeps its own equivalent
// unexported.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [unsafe.Sizeof(unix.Ifreq{}) - unix.IFNAMSIZ - unsafe.Sizeof(uintptr(0))]byte
}

// TxChecksumOff turns TX checksum offload off on the named device. OVS's
// userspace datapath reads veths through AF_PACKET and never completes a
// partial checksum, so without this TCP and UDP silently fail. The setting
// stays with the device when Docker moves it into a container.
//
// ETHTOOL_STXCSUM clears every TX checksum feature (IPv4, IPv6, generic,
// SCTP, FCoE) and the kernel then drops TSO and the other offloads that
// depend on them, exactly like `ethtool -K dev tx off`.
func (h *Host) TxChecksumOff(name string) error { return advise(h.txChecksumOff(name)) }

func (h *Host) txChecksumOff(name string) error {
	if err := h.ethtool(name, &ethtoolValue{cmd: unix.ETHTOOL_STXCSUM}); err != nil {
		return kernelFailed(err, "turn off TX checksum offload on %s", name)
	}
	// The kernel answers success even when the driver cannot change the
	// feature, so read it back rather than trust the set.
	got := ethtoolValue{cmd: unix.ETHTOOL_GTXCSUM}
	if err := h.ethtool(name, &got); err != nil {
		return kernelFailed(err, "read the TX checksum offload of %s", name)
	}
	if got.data != 0 {
		return usererr.Errorf(nil, "use OVS's kernel datapath on this host",
			"TX checksum offload on %s cannot be turned off, and OVS's userspace datapath needs it off", name)
	}
	return nil
}

// ethtool runs one SIOCETHTOOL request on the Host's socket, which makes
// it act on the device of that name in the Host's namespace.
func (h *Host) ethtool(name string, v *ethtoolValue) error {
	if len(name) == 0 || len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("interface name %q must be 1 to %d bytes", name, unix.IFNAMSIZ-1)
	}
	req := ifreqData{data: unsafe.Pointer(v)}
	copy(req.name[:], name)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(h.fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req)))
	if errno != 0 {
		return errno
	}
	return nil
}
