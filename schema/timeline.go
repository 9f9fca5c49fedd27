package schema

import (
	"time"

	"github.com/nobufs/nobufs/hostfacts"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// Sample is one line of timeline.ndjson of type "sample": what happened
// during one interval. Counters are deltas over the interval; Open is the
// number of client connections open at its end.
type Sample struct {
	Type     string       `json:"type"` // "sample"
	Seq      int          `json:"seq"`
	Elapsed  float64      `json:"elapsed_sec"`
	OK       uint64       `json:"ok"`
	Failed   uint64       `json:"failed"`
	Dropped  uint64       `json:"dropped"`
	Open     int64        `json:"open"`
	BytesOut uint64       `json:"bytes_out"`
	BytesIn  uint64       `json:"bytes_in"`
	Errors   []ErrorDelta `json:"errors,omitempty"`
	// Host is what Options.HostState returned for this interval.
	Host any `json:"host,omitempty"`
	// Extra holds the kind's own gauges (see the kind's documentation).
	Extra map[string]any `json:"extra,omitempty"`
}

// ErrorDelta counts one (phase, class, code) within an interval.
type ErrorDelta struct {
	Phase errclass.Phase `json:"phase"`
	Class errclass.Class `json:"class"`
	Code  int            `json:"code"`
	N     uint64         `json:"n"`
}

// StartLine is the first line of timeline.ndjson: enough to rebuild a
// summary if the run dies.
type StartLine struct {
	Type     string              `json:"type"` // "start"
	Schema   int                 `json:"schema"`
	Tool     Tool                `json:"tool"`
	Scenario *scenarios.Scenario `json:"scenario"`
	Started  time.Time           `json:"started"`
	Target   TargetInfo          `json:"target"`
	Settings hostfacts.Settings  `json:"settings"`
}

// EndLine is the last line of timeline.ndjson of a run that ended.
type EndLine struct {
	Type          string   `json:"type"` // "end"
	Status        string   `json:"status"`
	StopReason    string   `json:"stop_reason"`
	Elapsed       float64  `json:"elapsed_sec"`
	TimeToFailure *Failure `json:"time_to_failure"`
}
