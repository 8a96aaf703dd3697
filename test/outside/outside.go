// Package outside is the tests' side of the world beyond the gateway of
// routed networks (test/env/outside.sh): namespace ovn-outside, where the
// next hop 172.30.0.1 lives.
package outside

import (
	"bufio"
	"fmt"
	"os/exec"
	"strconv"
)

// NextHop is the outside's address.
const NextHop = "172.30.0.1"

// PeerSeen listens on NextHop:port inside the outside, has connect make
// one TCP connection to it (from a container), checks that the client read
// the listener's greeting, and returns the source address the outside saw.
func PeerSeen(port int, connect func(addr string, port int) (string, error)) (string, error) {
	script := `import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print("ready", flush=True)
c,a=s.accept(); c.sendall(b"hello\n"); c.close(); print(a[0], flush=True)`
	cmd := exec.Command("ip", "netns", "exec", "ovn-outside", "timeout", "30", "python3", "-c", script, NextHop, strconv.Itoa(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer cmd.Wait()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		return "", fmt.Errorf("the listener in ovn-outside did not start: %q", lines.Text())
	}
	got, err := connect(NextHop, port)
	if err != nil {
		return "", err
	}
	if got != "hello" {
		return "", fmt.Errorf("TCP to the outside answered %q", got)
	}
	if !lines.Scan() {
		return "", fmt.Errorf("the outside saw no connection")
	}
	return lines.Text(), nil
}
