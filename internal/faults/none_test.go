//go:build !faults

package faults

import (
	"testing"

	"github.com/sirupsen/logrus"
)

// The product build ignores the fault tests' variable: a stray
// OVN_DOCKER_CRASH_AT in a service's environment must not kill it.
func TestProductBuildHasNoCrashPoints(t *testing.T) {
	t.Setenv(Env, "request-address")
	Point(logrus.New(), "request-address")
}
