package main

import (
	"fmt"
	"net"
	"os"
)

// notifyReady tells systemd (Type=notify in packaging/ovn-docker.service)
// that the socket is listening, so docker.service, ordered after us, starts
// only once Docker can find the plugin. Without NOTIFY_SOCKET it does
// nothing.
func notifyReady() error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' { // abstract socket
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("READY=1")); err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	return nil
}
