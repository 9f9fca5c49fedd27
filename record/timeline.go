package record

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"
)

// maxLine bounds one timeline line; a sample is a few hundred bytes.
const maxLine = 4 << 20

// Timeline is a decoded timeline.ndjson.
type Timeline struct {
	Start   *schema.StartLine
	Samples []schema.Sample
	End     *schema.EndLine
	// Truncated is set when the last line was incomplete (the writer was
	// killed mid-line); it is ignored.
	Truncated bool
}

// ErrNotRun is returned for a directory that holds no nobufs run.
var ErrNotRun = errors.New("not a nobufs run directory")

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
			if head.Schema < 1 || head.Schema > schema.SchemaVersion {
				return nil, fmt.Errorf("%s:%d: schema %d is not one this version reads (1–%d)", name, n, head.Schema, schema.SchemaVersion)
			}
			var s schema.StartLine
			if err := json.Unmarshal(line, &s); err != nil {
				return nil, fmt.Errorf("%s:%d: bad start line: %w", name, n, err)
			}
			tl.Start = &s
		case "sample":
			var s schema.Sample
			if err := json.Unmarshal(line, &s); err != nil {
				return nil, fmt.Errorf("%s:%d: bad sample: %w", name, n, err)
			}
			tl.Samples = append(tl.Samples, s)
		case "end":
			var e schema.EndLine
			if err := json.Unmarshal(line, &e); err != nil {
				return nil, fmt.Errorf("%s:%d: bad end line: %w", name, n, err)
			}
			tl.End = &e
		default:
			return nil, fmt.Errorf("%s:%d: unknown line type %q (want start, sample or end)", name, n, head.Type)
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

// Rebuild makes a summary from a run directory's timeline, for a run that
// died before writing summary.json (SIGKILL, crash, power loss). Counts
// are exact up to the last complete sample; first occurrences and the
// time-to-failure are known to the sample interval (the end of the sample
// that first shows them) and carry no operation index, unless the
// timeline's end line was written.
func Rebuild(dir string) (*schema.Summary, error) {
	path := filepath.Join(dir, TimelineFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: no %s", dir, ErrNotRun, TimelineFile)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tl, err := ReadTimeline(path, f)
	if err != nil {
		return nil, err
	}
	if tl.Start == nil {
		return nil, fmt.Errorf("%s: empty timeline: the run died before it started", path)
	}
	return FromTimeline(tl), nil
}

// FromTimeline builds a summary from a decoded timeline (see Rebuild).
func FromTimeline(tl *Timeline) *schema.Summary {
	st := tl.Start
	s := &schema.Summary{
		Schema:   schema.SchemaVersion,
		Tool:     st.Tool,
		Scenario: st.Scenario,
		Started:  st.Started,
		Target:   st.Target,
		Settings: st.Settings,
		Status:   schema.StatusPartial,
		Latency:  map[string]schema.Latency{},
		Notes:    []string{"rebuilt from timeline.ndjson: counts up to the last complete sample; first occurrences known to the sample interval"},
	}
	if st.Scenario != nil {
		s.Socket.Requested = st.Scenario.Socket
	}
	failSet := map[errclass.Class]bool{}
	if st.Scenario != nil {
		for _, c := range st.Scenario.Failure.Classes {
			failSet[errclass.Class(c)] = true
		}
	}
	type key = errclass.ErrorKey
	errs := map[key]*schema.ErrorCount{}
	var order []key
	for _, smp := range tl.Samples {
		s.Ops.OK += smp.OK
		s.Ops.Failed += smp.Failed
		s.Ops.Dropped += smp.Dropped
		s.BytesOut += smp.BytesOut
		s.BytesIn += smp.BytesIn
		s.PeakOpen = max(s.PeakOpen, smp.Open)
		s.ElapsedSec = smp.Elapsed
		for _, d := range smp.Errors {
			k := key{Phase: d.Phase, Class: d.Class, Code: d.Code}
			e := errs[k]
			if e == nil {
				e = &schema.ErrorCount{Phase: d.Phase, Class: d.Class, Code: d.Code, Name: errclass.WSAName(d.Code), FirstAt: smp.Elapsed}
				errs[k] = e
				order = append(order, k)
				if failSet[d.Class] && (s.TimeToFailure == nil || smp.Elapsed < s.TimeToFailure.AtSec) {
					s.TimeToFailure = &schema.Failure{Class: d.Class, Phase: d.Phase, Code: d.Code, Name: e.Name, AtSec: smp.Elapsed, OKBefore: s.Ops.OK}
				}
			}
			e.Count += d.N
		}
	}
	s.Ops.Issued = s.Ops.OK + s.Ops.Failed
	for _, k := range order {
		s.Errors = append(s.Errors, *errs[k])
	}
	byClass := map[errclass.Class]int{}
	for _, e := range s.Errors {
		if i, ok := byClass[e.Class]; ok {
			s.Classes[i].Count += e.Count
			continue
		}
		byClass[e.Class] = len(s.Classes)
		s.Classes = append(s.Classes, schema.ClassFirst{Class: e.Class, Count: e.Count, FirstAt: e.FirstAt, Phase: e.Phase, Code: e.Code})
	}
	// Classes are built from first occurrences; errors are then listed most
	// frequent first, in the order a written summary uses.
	slices.SortStableFunc(s.Errors, func(a, b schema.ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
	})
	s.StopReason = "unknown"
	if e := tl.End; e != nil {
		s.Status, s.StopReason, s.ElapsedSec = e.Status, e.StopReason, e.Elapsed
		if e.TimeToFailure != nil {
			s.TimeToFailure = e.TimeToFailure
		}
		s.Notes = []string{"rebuilt from timeline.ndjson: the run ended, but its summary.json was lost; latency histograms are not in the timeline"}
	}
	s.Ended = s.Started.Add(secondsDuration(s.ElapsedSec))
	if st.Scenario != nil {
		s.Unmet = schema.CheckExpectations(st.Scenario.Expect, s.TimeToFailure)
	}
	return s
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
