package driver

import "strconv"

// OptICC is Docker's own bridge option for inter-container traffic:
// false keeps the network's containers from reaching each other.
const OptICC = "com.docker.network.bridge.enable_icc"

// parseICC reads -o com.docker.network.bridge.enable_icc, as Docker's
// bridge reads it (strconv.ParseBool); it reports whether ICC is off.
func parseICC(generic map[string]string) (bool, error) {
	s, ok := generic[OptICC]
	if !ok {
		return false, nil
	}
	icc, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid("give true or false", "%s=%q is not a boolean", OptICC, s)
	}
	return !icc, nil
}
