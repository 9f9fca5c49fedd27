package schema

import (
	"time"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// SchemaVersion is the version of summary.json and timeline.ndjson.
// docs/results.md describes it; bump it when a field changes meaning.
const SchemaVersion = 2

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
	// Thresholds lists each of scenario.thresholds with its value and
	// verdict (threshold.go).
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`

	Latency map[string]Latency `json:"latency"`
	Socket  SocketReport       `json:"socket"`
	// Settings is what was in force on the host.
	Settings hostfacts.Settings `json:"settings"`

	// Sections holds the section of the run's kind (port_exhaustion,
	// churn…), inline in summary.json.
	Sections
	// Prediction is where `nobufs doctor` expected this run to fail first,
	// made from the host's settings before it started; compare it with
	// TimeToFailure (its class and ok_before).
	Prediction *Prediction `json:"prediction,omitempty"`
	// Cell describes the lab cell the run ran in (nil: on the host).
	Cell *CellReport `json:"cell,omitempty"`
	// Segment is set in the summary of one segment of a run split
	// between processes (load.segments); Segments in the merged summary.
	Segment  *SegmentInfo `json:"segment,omitempty"`
	Segments []SegmentRef `json:"segments,omitempty"`
	// Replies is what the connections said and the server answered
	// (scenario.wire); nil when they said nothing.
	Replies *RepliesReport `json:"replies,omitempty"`
	// Watch is what was seen of the server beside the load.
	Watch *WatchReport `json:"watch,omitempty"`
	// VM describes the qemu guest the run ran in (nil: not in a VM).
	VM *VMReport `json:"vm,omitempty"`
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
	// Active is how many connections the target holds now (0 once the
	// run ended).
	Active int64 `json:"active,omitempty"`
	// BytesRead is what a built-in target read, BytesWritten what it
	// wrote; Datagrams what a udp-sink received; Vanished how many
	// connections a vanish target reset.
	BytesRead    uint64 `json:"bytes_read,omitempty"`
	BytesWritten uint64 `json:"bytes_written,omitempty"`
	Datagrams    uint64 `json:"datagrams,omitempty"`
	Vanished     uint64 `json:"vanished,omitempty"`
	// Program describes a launched target (target.server, target.command).
	Program *ProgramInfo `json:"program,omitempty"`
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
	// Op is the 1-based index of the failing operation (0: not known, in
	// a summary rebuilt from a schema 1 timeline); OKBefore counts the
	// operations that had succeeded by then, ConnectedBefore the
	// connections established by then (more than OKBefore where an
	// operation holds its connection, as half-open's do).
	Op              uint64 `json:"op"`
	OKBefore        uint64 `json:"ok_before"`
	ConnectedBefore uint64 `json:"connected_before"`
}

// SocketReport gives the options asked for and what the kernel applied,
// read back from the first connected socket.
type SocketReport struct {
	Requested scenarios.Socket `json:"requested"`
	// EffectiveSndBuf/RcvBuf are getsockopt values (Linux doubles a set value).
	EffectiveSndBuf int `json:"effective_sndbuf,omitempty"`
	EffectiveRcvBuf int `json:"effective_rcvbuf,omitempty"`
}

// GaugeStats summarises a gauge over the samples of a window.
type GaugeStats struct {
	Samples int     `json:"samples"`
	Mean    float64 `json:"mean"`
	Min     int64   `json:"min"`
	Max     int64   `json:"max"`
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
