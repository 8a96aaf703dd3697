//go:build faults

// Package faults lets the fault tests kill the daemon at a named point, so
// they can check that state converges after a crash between two steps.
// Only a binary built with `-tags faults` has it: in the product, Point
// compiles to nothing.
package faults

import (
	"os"
	"syscall"

	"github.com/sirupsen/logrus"
)

// Env names the point to crash at.
const Env = "OVN_DOCKER_CRASH_AT"

// Point kills the process (SIGKILL: nothing it holds survives) when Env
// names point.
func Point(log logrus.FieldLogger, point string) {
	if os.Getenv(Env) == point {
		log.WithField("point", point).Warn("crashing on request (" + Env + ")")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}
