package main

import (
	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/sirupsen/logrus"
)

// notify tells systemd (Type=notify in packaging/ovn-docker.service) where
// the daemon is: READY=1 once the socket listens, so that docker.service,
// ordered after us, starts only once Docker can find the plugin; STOPPING=1
// when a stop begins, so that systemd shows it draining rather than hung.
// Without NOTIFY_SOCKET it does nothing. NOTIFY_SOCKET is kept in the
// environment for the later STOPPING=1.
func notify(log logrus.FieldLogger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.WithError(err).WithField("state", state).Warn("systemd was not notified")
	}
}
