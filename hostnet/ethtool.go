package hostnet

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtoolSetTxCsum is ETHTOOL_STXCSUM from linux/ethtool.h. The kernel maps
// it onto every TX checksum feature and drops the offloads that depend on
// them (TSO, GSO), which is what `ethtool -K dev tx off` does.
const ethtoolSetTxCsum = 0x17

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqPtr is struct ifreq with its union holding a pointer (ifr_data).
type ifreqPtr struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

// TxChecksumOff turns TX checksum offload off on the named device. OVS's
// userspace datapath reads veths through AF_PACKET and never completes a
// partial checksum, so without this TCP and UDP silently fail. The setting
// stays with the device when Docker moves it into a container.
func (h *Host) TxChecksumOff(name string) error {
	if len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("interface name %q is too long", name)
	}
	val := ethtoolValue{cmd: ethtoolSetTxCsum, data: 0}
	var req ifreqPtr
	copy(req.name[:], name)
	req.data = uintptr(unsafe.Pointer(&val))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(h.fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req)))
	runtime.KeepAlive(&val)
	if errno != 0 {
		return fmt.Errorf("turn off tx checksum offload on %s: %w", name, errno)
	}
	return nil
}
