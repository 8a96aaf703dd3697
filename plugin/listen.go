package plugin

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// probeTimeout bounds the check for a live server behind an existing
// socket. A live one is answered by the kernel at once while its backlog
// has room; a dead one refuses at once.
const probeTimeout = 500 * time.Millisecond

// Listen creates the plugin socket: mode 0660, owned by root and gid (-1
// keeps root's group). A socket nothing listens on any more (a killed
// daemon's) is replaced; one that something still serves is refused, so a
// second daemon cannot take Docker's calls from a running one, nor unlink
// its socket. Any other file at path is refused.
func Listen(path string, gid int) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := checkStale(path); err != nil {
			return nil, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("set socket mode: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, 0, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("set socket group: %w", err)
		}
	}
	return l, nil
}

// checkStale succeeds only when nothing listens on the socket at path.
func checkStale(path string) error {
	c, err := net.DialTimeout("unix", path, probeTimeout)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("another ovn-docker (or other process) is already serving %s; stop it first", path)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, os.ErrNotExist):
		return nil
	default:
		// A full backlog or a timeout means something is there.
		return fmt.Errorf("%s may be served by another process (it did not refuse a connection: %w); stop it first", path, err)
	}
}
