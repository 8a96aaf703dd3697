//go:build !faults

// Package faults lets the fault tests kill the daemon at a named point;
// see faults.go. This build has no such points.
package faults

import "github.com/sirupsen/logrus"

// Env names the point to crash at, in the fault tests' build only.
const Env = "OVN_DOCKER_CRASH_AT"

// Point does nothing outside the fault tests' build.
func Point(logrus.FieldLogger, string) {}
