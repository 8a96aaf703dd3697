// Package outside is the tests' side of the world beyond the gateway of
// routed networks (test/env/outside.sh): namespace ovn-outside, where the
// next hop 172.30.0.1 lives.
package outside

import (
	"bufio"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
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

// Read connects from the outside to addr:port over TCP and returns the
// first line the other end sends.
func Read(addr string, port int) (string, error) {
	script := `import socket,sys
s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.makefile().readline().strip())`
	return inOutside(script, addr, strconv.Itoa(port))
}

// Ask sends msg to addr:port over UDP from the outside and returns the
// answer.
func Ask(addr string, port int, msg string) (string, error) {
	script := `import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recvfrom(1000)[0].decode())`
	return inOutside(script, addr, strconv.Itoa(port), msg)
}

func inOutside(script string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", "ovn-outside", "timeout", "10", "python3", "-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%v: %s", err, s)
	}
	return s, nil
}

// UDPEcho answers every datagram to port in the network namespace of
// process pid (a container's) with "echo:" and the datagram, and the
// sender's address after "from:", until stop is called.
func UDPEcho(pid string, port int) (stop func(), err error) {
	script := `import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    d,a=s.recvfrom(1000); s.sendto(b"echo:"+d+b" from:"+a[0].encode(), a)`
	cmd := exec.Command("nsenter", "-t", pid, "-n", "python3", "-c", script, strconv.Itoa(port))
	return startReady(cmd, "the UDP echo in the namespace of process "+pid)
}

// DNS stands for the world's DNS server on NextHop:53 until stop is
// called: it answers every query at once with no records, as a real
// server answers for a name it has no such record of. OVN answers the
// names it knows before the query leaves the switch, but lets through a
// query of a type it has no address of (AAAA on an IPv4 network), which
// without a server that answers waits for the resolver's timeout.
func DNS() (stop func(), err error) {
	script := `import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    q,a=s.recvfrom(1500)
    i=12
    while i < len(q) and q[i]: i+=q[i]+1
    if i+5 > len(q): continue
    s.sendto(q[:2]+bytes([0x81|(q[2]&0x78), 0x80])+b"\0\1\0\0\0\0\0\0"+q[12:i+5], a)`
	cmd := exec.Command("ip", "netns", "exec", "ovn-outside", "python3", "-c", script, NextHop)
	return startReady(cmd, "the DNS server in ovn-outside")
}

// startReady starts cmd and waits for its "ready" line.
func startReady(cmd *exec.Cmd, what string) (stop func(), err error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		stop()
		return nil, fmt.Errorf("%s did not start", what)
	}
	return stop, nil
}

// AskFrom sends msg to addr:port over UDP from the network namespace of
// process pid (a container's) and returns the answer.
func AskFrom(pid, addr string, port int, msg string) (string, error) {
	script := `import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recvfrom(1000)[0].decode())`
	out, err := exec.Command("nsenter", "-t", pid, "-n", "timeout", "10", "python3", "-c", script, addr, strconv.Itoa(port), msg).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%v: %s", err, s)
	}
	return s, nil
}
