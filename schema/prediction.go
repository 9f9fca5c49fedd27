package schema

// Prediction is where a scenario is expected to fail first on a host, and
// after how many successful operations.
type Prediction struct {
	// Resource is what runs out first: "ports", "fds", "backlog",
	// "memory", or "none" when no limit is reached within the run's
	// bounds (stop.max_ops, stop.duration at the load's rate).
	Resource string `json:"resource"`
	// Class is the error class expected then (eaddrnotavail, emfile…).
	Class string `json:"class,omitempty"`
	// AfterOps is the expected number of successful operations before the
	// failure: the prediction of time_to_failure.ok_before.
	AfterOps uint64 `json:"after_ops,omitempty"`
	// Detail says how the number was reached.
	Detail string `json:"detail"`
	// Limits lists every resource considered, the first one included.
	Limits []PredictedLimit `json:"limits"`
}

// PredictedLimit is one resource a scenario may exhaust.
type PredictedLimit struct {
	Resource string `json:"resource"`
	Class    string `json:"class,omitempty"`
	// AfterOps is nil when the resource is not expected to run out
	// within the run's bounds.
	AfterOps *uint64 `json:"after_ops"`
	Detail   string  `json:"detail"`
}
