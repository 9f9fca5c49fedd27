package schema

import (
	"time"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// SchemaVersion is the version of summary.json and timeline.ndjson.
// docs/results.md describes it; bump it when a field changes meaning.
const SchemaVersion = 1

// Run statuses.
const (
	// StatusPassed: the run ended by its bounds and met its expectations.
	StatusPassed = "passed"
	// StatusFailed: the run ended and an expectation was not met.
	StatusFailed = "failed"
	// StatusInterrupted: the run was stopped by a signal or the caller.
	StatusInterrupted = "interrupted"
	// StatusPartial: rebuilt from a timeline after the run died.
	StatusPartial = "partial"
)

// Stop reasons.
const (
	StopDuration    = "duration"
	StopMaxOps      = "max_ops"
	StopFailure     = "failure"
	StopStagesDone  = "stages_done"
	StopInterrupted = "interrupted"
	StopError       = "error"
)

// Summary is the result of one run: what ran, what was in force, and what
// happened. It is written as summary.json; docs/results.md is its schema.
type Summary struct {
	Schema   int                 `json:"schema"`
	Tool     Tool                `json:"tool"`
	Scenario *scenarios.Scenario `json:"scenario"`
	Status   string              `json:"status"`
	// StopReason says which bound or event ended the run.
	StopReason string `json:"stop_reason"`
	// Started and Ended are UTC wall-clock times; ElapsedSec is measured
	// on the monotonic clock.
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended"`
	ElapsedSec float64   `json:"elapsed_sec"`

	Target TargetInfo `json:"target"`
	Ops    OpCounts   `json:"ops"`
	// PeakOpen is the most client connections open at one sampling.
	PeakOpen int64  `json:"peak_open"`
	BytesOut uint64 `json:"bytes_out"`
	BytesIn  uint64 `json:"bytes_in"`

	// Errors lists each (phase, class, code) seen, most frequent first.
	Errors []ErrorCount `json:"errors"`
	// Classes lists each class's count and first occurrence.
	Classes []ClassFirst `json:"classes"`
	// TimeToFailure is the first occurrence of a class in
	// scenario.failure.classes; nil when none occurred.
	TimeToFailure *Failure `json:"time_to_failure"`
	// Expectations lists each unmet expectation of scenario.expect.
	Unmet []string `json:"unmet,omitempty"`

	Latency map[string]Latency `json:"latency"`
	Socket  SocketReport       `json:"socket"`
	// Settings is what was in force on the host.
	Settings hostfacts.Settings `json:"settings"`

	PortExhaustion *PortReport     `json:"port_exhaustion,omitempty"`
	Churn          *ChurnReport    `json:"churn,omitempty"`
	HalfOpen       *HalfOpenReport `json:"half_open,omitempty"`
	// Prediction is where `nobufs doctor` expected this run to fail first,
	// made from the host's settings before it started; compare it with
	// TimeToFailure (its class and ok_before).
	Prediction *Prediction     `json:"prediction,omitempty"`
	DeadPeer   *DeadPeerReport `json:"dead_peer,omitempty"`
	UDPPush    *UDPReport      `json:"udp_push,omitempty"`
	// Cell describes the lab cell the run ran in (nil: on the host).
	Cell *CellReport `json:"cell,omitempty"`
	// Notes lists problems of the harness itself that did not stop the run.
	Notes []string `json:"notes,omitempty"`
}

// Tool names the program that wrote the results.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// TargetInfo says what the load went to.
type TargetInfo struct {
	// Mode is the built-in mode, or "external".
	Mode    string `json:"mode"`
	Address string `json:"address"`
	// Accepted, ServerErrors: counted by a built-in target.
	Accepted     uint64       `json:"accepted,omitempty"`
	ServerErrors []ErrorCount `json:"server_errors,omitempty"`
	// BytesRead is what a built-in target read; Datagrams what a udp-sink
	// received; Vanished how many connections a vanish target reset.
	BytesRead uint64 `json:"bytes_read,omitempty"`
	Datagrams uint64 `json:"datagrams,omitempty"`
	Vanished  uint64 `json:"vanished,omitempty"`
}

// OpCounts counts operations. Issued = OK + Failed + Aborted; Dropped
// arrivals (open model) were never issued.
type OpCounts struct {
	Issued  uint64 `json:"issued"`
	OK      uint64 `json:"ok"`
	Failed  uint64 `json:"failed"`
	Aborted uint64 `json:"aborted"`
	Dropped uint64 `json:"dropped"`
}

// ErrorCount is how often one (phase, class, code) occurred and when first.
type ErrorCount struct {
	Phase   errclass.Phase `json:"phase"`
	Class   errclass.Class `json:"class"`
	Code    int            `json:"code"`
	Name    string         `json:"name,omitempty"` // WSA name for Windows codes
	Count   uint64         `json:"count"`
	FirstAt float64        `json:"first_at_sec"`
	FirstOp uint64         `json:"first_op"`
}

// ClassFirst is a class's total and its first occurrence.
type ClassFirst struct {
	Class   errclass.Class `json:"class"`
	Count   uint64         `json:"count"`
	FirstAt float64        `json:"first_at_sec"`
	FirstOp uint64         `json:"first_op"`
	Phase   errclass.Phase `json:"first_phase"`
	Code    int            `json:"first_code"`
}

// Failure is the time-to-failure: the first error of a failure class.
type Failure struct {
	Class errclass.Class `json:"class"`
	Phase errclass.Phase `json:"phase"`
	Code  int            `json:"code"`
	Name  string         `json:"name,omitempty"`
	AtSec float64        `json:"at_sec"`
	// Op is the 1-based index of the failing operation; OKBefore counts
	// the operations that had succeeded by then.
	Op       uint64 `json:"op"`
	OKBefore uint64 `json:"ok_before"`
}

// Latency summarises one histogram, in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Min   int64   `json:"min_us"`
	Mean  float64 `json:"mean_us"`
	P50   int64   `json:"p50_us"`
	P90   int64   `json:"p90_us"`
	P99   int64   `json:"p99_us"`
	P999  int64   `json:"p999_us"`
	Max   int64   `json:"max_us"`
}

// SocketReport gives the options asked for and what the kernel applied,
// read back from the first connected socket.
type SocketReport struct {
	Requested scenarios.Socket `json:"requested"`
	// EffectiveSndBuf/RcvBuf are getsockopt values (Linux doubles a set value).
	EffectiveSndBuf int `json:"effective_sndbuf,omitempty"`
	EffectiveRcvBuf int `json:"effective_rcvbuf,omitempty"`
}

// PortReport is what the port-exhaustion kind adds to the summary.
type PortReport struct {
	// Method is the method used after auto was resolved.
	Method    string `json:"method"`
	Low       int    `json:"low,omitempty"`
	High      int    `json:"high,omitempty"`
	RangeSize int    `json:"range_size,omitempty"`
	// ConnectsBeforeFailure counts successful connects before the first
	// failure (nil when there was none).
	ConnectsBeforeFailure *uint64 `json:"connects_before_failure"`
	// Recovered: with after_failure, when a connect first succeeded again
	// after the failure (seconds since start).
	RecoveredAtSec *float64 `json:"recovered_at_sec,omitempty"`
	// BusySkipped counts binds that found a port busy and moved on to the
	// next one (method bind only).
	BusySkipped uint64 `json:"busy_skipped,omitempty"`
}

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

// GaugeStats summarises a gauge over the samples of a window.
type GaugeStats struct {
	Samples int     `json:"samples"`
	Mean    float64 `json:"mean"`
	Min     int64   `json:"min"`
	Max     int64   `json:"max"`
}

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

// ClassTiming is how long the connects that ended in one class took.
type ClassTiming struct {
	Class   errclass.Class `json:"class"`
	Count   uint64         `json:"count"`
	MinSec  float64        `json:"min_sec"`
	MeanSec float64        `json:"mean_sec"`
	MaxSec  float64        `json:"max_sec"`
}

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

// CheckExpectations returns the unmet expectations of sc for a run whose
// time-to-failure is ttf (nil: no failure).
func CheckExpectations(e scenarios.Expect, ttf *Failure) []string {
	var unmet []string
	switch e.Failure {
	case scenarios.ExpectRequired:
		if ttf == nil {
			unmet = append(unmet, "expect.failure: required, but no failure class occurred")
		}
	case scenarios.ExpectForbidden:
		if ttf != nil {
			unmet = append(unmet, "expect.failure: forbidden, but "+string(ttf.Class)+" occurred at "+fmtSec(ttf.AtSec))
		}
	}
	if ttf != nil {
		at := time.Duration(ttf.AtSec * float64(time.Second))
		if e.MaxTTF > 0 && at > e.MaxTTF.D() {
			unmet = append(unmet, "expect.max_ttf: "+e.MaxTTF.String()+", but failure came at "+fmtSec(ttf.AtSec))
		}
		if e.MinTTF > 0 && at < e.MinTTF.D() {
			unmet = append(unmet, "expect.min_ttf: "+e.MinTTF.String()+", but failure came at "+fmtSec(ttf.AtSec))
		}
	} else if e.MaxTTF > 0 && e.Failure != scenarios.ExpectRequired {
		unmet = append(unmet, "expect.max_ttf: "+e.MaxTTF.String()+", but no failure class occurred")
	}
	return unmet
}

func fmtSec(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
}
