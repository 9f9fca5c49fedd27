package schema

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nobufs/nobufs/hostfacts"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// Sample is one line of timeline.ndjson of type "sample": what happened
// during one interval. Counters are deltas over the interval; Open is the
// number of client connections open at its end.
type Sample struct {
	Type    string  `json:"type"` // "sample"
	Seq     int     `json:"seq"`
	Elapsed float64 `json:"elapsed_sec"`
	// Issued counts operations started in the interval (schema 2).
	Issued  uint64 `json:"issued"`
	OK      uint64 `json:"ok"`
	Failed  uint64 `json:"failed"`
	Dropped uint64 `json:"dropped"`
	Open    int64  `json:"open"`
	// PeakOpen is the most connections open at once during the interval
	// (schema 2); Open is the count at its end.
	PeakOpen int64        `json:"peak_open"`
	BytesOut uint64       `json:"bytes_out"`
	BytesIn  uint64       `json:"bytes_in"`
	Errors   []ErrorDelta `json:"errors,omitempty"`
	// TimeToFailure is set on the first sample taken after the run's
	// failure occurred (schema 2), so a rebuilt summary has it exactly.
	TimeToFailure *Failure `json:"time_to_failure,omitempty"`
	// Host is what Options.HostState returned for this interval.
	Host any `json:"host,omitempty"`
	// Extra holds the kind's own gauges (see the kind's documentation).
	Extra map[string]any `json:"extra,omitempty"`
	// Watch is the server's side in this interval (Options.Watch).
	Watch *WatchSample `json:"watch,omitempty"`
}

// ErrorDelta counts one (phase, class, code) within an interval.
type ErrorDelta struct {
	Phase errclass.Phase `json:"phase"`
	Class errclass.Class `json:"class"`
	Code  int            `json:"code"`
	N     uint64         `json:"n"`
	// FirstAt and FirstOp give the key's first occurrence, on the sample
	// in which it first appears (schema 2).
	FirstAt *float64 `json:"first_at_sec,omitempty"`
	FirstOp uint64   `json:"first_op,omitempty"`
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
	// Segment is set when the run is one segment of a run split between
	// processes (as in the summary).
	Segment *SegmentInfo `json:"segment,omitempty"`
}

// EndLine is the last line of timeline.ndjson of a run that ended.
type EndLine struct {
	Type          string   `json:"type"` // "end"
	Status        string   `json:"status"`
	StopReason    string   `json:"stop_reason"`
	Elapsed       float64  `json:"elapsed_sec"`
	TimeToFailure *Failure `json:"time_to_failure"`
}

// EventLine is a line of timeline.ndjson of type "event": something that
// happened at a moment rather than over an interval — a VM guest's kernel
// saying "TCP: out of memory -- consider tuning tcp_mem", the guest dying.
// Event lines may come anywhere after the start line, also after the end
// line (the guest's last kernel lines).
type EventLine struct {
	Type string `json:"type"` // "event"
	// Elapsed is the time since the run's load started (negative: before
	// it, such as a line logged while the guest booted).
	Elapsed float64 `json:"elapsed_sec"`
	// Source says who saw it: guest-kernel (the guest's /dev/kmsg) or vm
	// (the VM placement: the console, qemu's exit).
	Source string `json:"source"`
	// Kind names the event: tcp-oom, tcp-orphans, oom, kmsg-lost,
	// kmsg-failed (guest-kernel); guest-panic, guest-oom, guest-reset (vm).
	Kind string `json:"kind"`
	Text string `json:"text,omitempty"`
}

// Event sources.
const (
	EventSourceGuestKernel = "guest-kernel"
	EventSourceVM          = "vm"
)

// maxLine bounds one timeline line; a sample is a few hundred bytes.
const maxLine = 4 << 20

// Timeline is a decoded timeline.ndjson.
type Timeline struct {
	Start   *StartLine
	Samples []Sample
	// Events are the event lines, in file order.
	Events []EventLine
	End    *EndLine
	// Truncated is set when the last line was incomplete (the writer was
	// killed mid-line); it is ignored.
	Truncated bool
}

// ReadTimeline decodes a timeline. Every complete line must be valid; an
// incomplete last line (no newline) is dropped and reported as Truncated.
// Errors name the file and line.
func ReadTimeline(name string, r io.Reader) (*Timeline, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	tl := &Timeline{}
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			return tl, nil
		}
		if errors.Is(err, errPartial) {
			tl.Truncated = true
			return tl, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var head struct {
			Type   string `json:"type"`
			Schema int    `json:"schema"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return nil, fmt.Errorf("%s:%d: not a timeline line: %w", name, n, err)
		}
		switch head.Type {
		case "start":
			if n != 1 {
				return nil, fmt.Errorf("%s:%d: start line after line 1", name, n)
			}
			if head.Schema < 1 || head.Schema > SchemaVersion {
				return nil, fmt.Errorf("%s:%d: schema %d is not one this version reads (1–%d)", name, n, head.Schema, SchemaVersion)
			}
			var s StartLine
			if err := json.Unmarshal(line, &s); err != nil {
				return nil, fmt.Errorf("%s:%d: bad start line: %w", name, n, err)
			}
			tl.Start = &s
		case "sample":
			var s Sample
			if err := json.Unmarshal(line, &s); err != nil {
				return nil, fmt.Errorf("%s:%d: bad sample: %w", name, n, err)
			}
			tl.Samples = append(tl.Samples, s)
		case "event":
			var e EventLine
			if err := json.Unmarshal(line, &e); err != nil {
				return nil, fmt.Errorf("%s:%d: bad event line: %w", name, n, err)
			}
			tl.Events = append(tl.Events, e)
		case "end":
			var e EndLine
			if err := json.Unmarshal(line, &e); err != nil {
				return nil, fmt.Errorf("%s:%d: bad end line: %w", name, n, err)
			}
			tl.End = &e
		default:
			return nil, fmt.Errorf("%s:%d: unknown line type %q (want start, sample, event or end)", name, n, head.Type)
		}
		if n == 1 && tl.Start == nil {
			return nil, fmt.Errorf("%s:1: first line is %q, want the start line", name, head.Type)
		}
	}
}

var errPartial = errors.New("incomplete last line")

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			return nil, errPartial
		default:
			return nil, err
		}
	}
}

// Rebuild makes a summary from a decoded timeline, for a run that died
// before writing summary.json (SIGKILL, crash, power loss): status
// partial, counts exact up to the last complete sample. A schema 2
// timeline carries first occurrences and the time-to-failure exactly; a
// schema 1 one gives them to the sample interval (the end of the sample
// that first shows them) and without operation index or ok_before. When
// the end line was written, its status, stop reason and time-to-failure
// are taken.
func Rebuild(tl *Timeline) *Summary {
	st := tl.Start
	s := &Summary{
		Schema:   SchemaVersion,
		Tool:     st.Tool,
		Scenario: st.Scenario,
		Started:  st.Started,
		Target:   st.Target,
		Settings: st.Settings,
		Status:   StatusPartial,
		Latency:  map[string]Latency{},
		Segment:  st.Segment,
	}
	var classes []string
	if st.Scenario != nil {
		s.Socket.Requested = st.Scenario.Socket
		classes = st.Scenario.Failure.Classes
	}
	var t Tally
	for _, smp := range tl.Samples {
		t.AddSample(smp)
		s.ElapsedSec = smp.Elapsed
		if smp.TimeToFailure != nil && s.TimeToFailure == nil {
			f := *smp.TimeToFailure
			s.TimeToFailure = &f
		}
	}
	if st.Schema < 2 {
		// Schema 1 samples carry no issued count: what started and did
		// not end is unknown.
		t.Ops.Issued = t.Ops.OK + t.Ops.Failed
	}
	t.Ops.Aborted = t.Ops.Issued - min(t.Ops.Issued, t.Ops.OK+t.Ops.Failed)
	t.Fill(s)
	if s.TimeToFailure == nil {
		s.TimeToFailure = t.First(classes)
		if s.TimeToFailure != nil {
			// ok_before is known to the sample, as the time is.
			s.TimeToFailure.OKBefore = okBefore(tl.Samples, s.TimeToFailure.AtSec)
		}
	}
	s.StopReason = "unknown"
	s.Notes = []string{"rebuilt from timeline.ndjson: counts up to the last complete sample"}
	if st.Schema < 2 {
		s.Notes[0] += "; first occurrences known to the sample interval (schema 1 timeline)"
	}
	if e := tl.End; e != nil {
		s.Status, s.StopReason, s.ElapsedSec = e.Status, e.StopReason, e.Elapsed
		if e.TimeToFailure != nil {
			s.TimeToFailure = e.TimeToFailure
		}
		s.Notes = []string{"rebuilt from timeline.ndjson: the run ended, but its summary.json was lost; latency histograms are not in the timeline"}
	}
	s.Ended = s.Started.Add(time.Duration(s.ElapsedSec * float64(time.Second)))
	if st.Scenario != nil {
		s.Unmet = CheckExpectations(st.Scenario.Expect, s.TimeToFailure)
		s.Thresholds = JudgeThresholds(st.Scenario.Thresholds, s)
	}
	return s
}

// okBefore sums the successes of the samples up to the one that ended at
// at: the count at the end of the sample that first shows the failure,
// the same bound its time is known to.
func okBefore(samples []Sample, at float64) uint64 {
	var n uint64
	for _, smp := range samples {
		if smp.Elapsed > at {
			break
		}
		n += smp.OK
	}
	return n
}

// DecodeSummary decodes the contents of a summary.json; name is used in
// messages.
func DecodeSummary(name string, b []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: not a nobufs summary: %w", name, err)
	}
	if s.Schema == 0 || s.Schema > SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d is not one this version reads (1–%d)", name, s.Schema, SchemaVersion)
	}
	return &s, nil
}
