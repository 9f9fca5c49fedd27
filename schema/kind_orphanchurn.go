package schema

// OrphanChurnReport is what the orphan-churn kind adds to the summary.
type OrphanChurnReport struct {
	// Peers, FirstPeer and LastPeer are the destination addresses.
	Peers     int    `json:"peers"`
	FirstPeer string `json:"first_peer"`
	LastPeer  string `json:"last_peer"`
	// Connects counts connections opened; Completed those whose whole
	// burst and the peer's FIN were read; OrphanResets those reset before
	// the burst's end (the kernel killed the orphan).
	Connects     uint64 `json:"connects"`
	Completed    uint64 `json:"completed"`
	OrphanResets uint64 `json:"orphan_resets"`
	// BytesAsked is the sum of the bursts asked for, BytesRead what was
	// read of them.
	BytesAsked uint64 `json:"bytes_asked"`
	BytesRead  uint64 `json:"bytes_read"`
	// MeanReadSec is how long a completed burst took to read, on average;
	// FirstResetAtSec when the first orphan reset was seen.
	MeanReadSec     float64  `json:"mean_read_sec,omitempty"`
	FirstResetAtSec *float64 `json:"first_reset_at_sec,omitempty"`
	// PeakReading is the most connections being read at once at a sample.
	PeakReading int64 `json:"peak_reading"`
}
