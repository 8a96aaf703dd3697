package driver

import (
	"context"
	"sort"
)

// ReconcileNetworks removes the switches this host created for networks
// its Docker engine no longer knows (known, read from Docker's API), once
// they have looked forgotten on every pass for the grace period: Docker
// removes a network without a word to the driver while the plugin is
// stopped, and only logs a DeleteNetwork that failed. The grace period
// covers a CreateNetwork whose network Docker has not stored yet. Ports
// still on such a switch go with it; their local pieces then look orphaned
// and Reconcile removes them. It returns the networks whose switch it
// removed.
func (d *Driver) ReconcileNetworks(ctx context.Context, known map[string]bool) ([]string, error) {
	chassis, err := d.chassisID(ctx)
	if err != nil {
		return nil, err
	}
	switches, err := d.nb.Switches(ctx)
	if err != nil {
		return nil, err
	}
	var suspects []string
	for _, s := range switches {
		for _, r := range s.Refs {
			if r.Chassis == chassis && !known[r.NetworkID] {
				suspects = append(suspects, r.NetworkID)
			}
		}
	}
	var removed []string
	for _, id := range d.forgotten.Observe(suspects, d.cfg.Now()) {
		deleted, err := d.removeForgotten(ctx, id)
		if err != nil {
			return removed, err
		}
		if deleted {
			removed = append(removed, id)
		}
	}
	sort.Strings(removed)
	return removed, nil
}

func (d *Driver) removeForgotten(ctx context.Context, networkID string) (bool, error) {
	defer d.locks.lock("net/" + networkID)()
	deleted, err := d.removeSwitch(ctx, networkID)
	if err != nil {
		return false, err
	}
	d.cfg.Log.WithFields(map[string]any{"network": networkID, "switch_deleted": deleted}).
		Warn("reconcile: removed a network Docker no longer knows from its switch")
	return true, nil
}
