package schema

// ChurnReport is what the churn kind adds to the summary.
type ChurnReport struct {
	// Peers is how many destination addresses were used, FirstPeer and
	// LastPeer the ends of their range.
	Peers     int    `json:"peers"`
	FirstPeer string `json:"first_peer"`
	LastPeer  string `json:"last_peer"`
	// Connects counts connections established; ClosedFIN and ClosedRST
	// how they ended (a connection that failed mid-life is counted too).
	Connects  uint64 `json:"connects"`
	ClosedFIN uint64 `json:"closed_fin"`
	ClosedRST uint64 `json:"closed_rst"`
	// Bursts counts completed request/reply exchanges.
	Bursts uint64 `json:"bursts"`
	// ConnectsPerSec is Connects over the run's elapsed time.
	ConnectsPerSec float64 `json:"connects_per_sec"`
	// MeanLifetimeSec is the mean drawn lifetime of the connections.
	MeanLifetimeSec float64 `json:"mean_lifetime_sec"`
	// SteadyOpen is the open-connection count over the second half of the
	// run's samples.
	SteadyOpen *GaugeStats `json:"steady_open"`
}
