package schema

import "github.com/nobufs/nobufs/workers/errclass"

// HalfOpenReport is what the half-open kind adds to the summary.
type HalfOpenReport struct {
	// Started counts connects started; Completed those whose handshake
	// completed (held for half_open.hold, then closed).
	Started   uint64 `json:"started"`
	Completed uint64 `json:"completed"`
	// PendingPeak is the most connects pending at one sampling;
	// PendingPlateau summarises pending over the second half of the run.
	PendingPeak    int64       `json:"pending_peak"`
	PendingPlateau *GaugeStats `json:"pending_plateau"`
	// HeldPeak is the most completed connections held at one sampling.
	HeldPeak int64 `json:"held_peak"`
	// StartsPerSec is Started over the run's elapsed time.
	StartsPerSec float64 `json:"starts_per_sec"`
	// Outcomes: how long connects took by how they ended ("completed" or
	// an error class), most frequent first.
	Outcomes []ClassTiming `json:"outcomes"`
	// AcceptQueue is the never-accept target's accept queue at the end of
	// the run (Linux), and the backlog it was listening with.
	AcceptQueue   *int `json:"accept_queue,omitempty"`
	AcceptBacklog *int `json:"accept_backlog,omitempty"`
}

// ClassTiming is how long the connects that ended in one class took.
type ClassTiming struct {
	Class   errclass.Class `json:"class"`
	Count   uint64         `json:"count"`
	MinSec  float64        `json:"min_sec"`
	MeanSec float64        `json:"mean_sec"`
	MaxSec  float64        `json:"max_sec"`
}
