package schema

// CellReport describes the lab cell a run ran in; package lab fills it.
type CellReport struct {
	// Name is the cell's run-unique name prefix.
	Name string `json:"name"`
	// ClientNS and TargetNS name the two network namespaces.
	ClientNS string `json:"client_ns"`
	TargetNS string `json:"target_ns"`
	// ClientAddr and TargetAddr are the veth addresses (CIDR).
	ClientAddr string `json:"client_addr"`
	TargetAddr string `json:"target_addr"`
	// Sysctls holds each sysctl the scenario set, per side, as read back
	// after writing it.
	Sysctls map[string]map[string]string `json:"sysctls,omitempty"`
	// Shaping is the qdisc on the client's veth, as tc would print it.
	Shaping string `json:"shaping,omitempty"`
	// Faults lists the faults injected, when and with what result.
	Faults []FaultReport `json:"faults,omitempty"`
	// SetupMs and TeardownMs are how long building and removing the cell took.
	SetupMs    float64 `json:"setup_ms"`
	TeardownMs float64 `json:"teardown_ms,omitempty"`
}

// FaultReport is one injected fault.
type FaultReport struct {
	Action string  `json:"action"`
	AtSec  float64 `json:"at_sec"`
	// Error is set when the fault could not be injected.
	Error string `json:"error,omitempty"`
}
