package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The processes whose CPU a measurement reports, besides the daemon's.
var others = []struct{ name, pidfile string }{
	{"NB ovsdb-server", "/var/run/ovn/ovnnb_db.pid"},
	{"ovn-northd", "/var/run/ovn/ovn-northd.pid"},
	{"SB ovsdb-server", "/var/run/ovn/ovnsb_db.pid"},
	{"ovn-controller", "/var/run/ovn/ovn-controller.pid"},
}

// cpuTime is the user and system time process pid has used (clock ticks
// of 10 ms, as Debian's kernel counts them).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it may not.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}

func pidOf(file string) int {
	b, _ := os.ReadFile(file)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cpuMeter reads the CPU time of the daemon and the OVN processes.
type cpuMeter struct {
	pids  []int
	names []string
}

func newCPUMeter(daemonPid int) cpuMeter {
	m := cpuMeter{pids: []int{daemonPid}, names: []string{"daemon"}}
	for _, o := range others {
		m.pids, m.names = append(m.pids, pidOf(o.pidfile)), append(m.names, o.name)
	}
	return m
}

func (m cpuMeter) read() []time.Duration {
	out := make([]time.Duration, len(m.pids))
	for i, pid := range m.pids {
		out[i] = cpuTime(pid)
	}
	return out
}

// per says each process's CPU between before and now, per operation.
func (m cpuMeter) per(before []time.Duration, ops int) string {
	now := m.read()
	var parts []string
	for i := range now {
		parts = append(parts, fmt.Sprintf("%s %.2f ms", m.names[i], float64(now[i]-before[i])/float64(time.Millisecond)/float64(ops)))
	}
	return strings.Join(parts, ", ")
}
