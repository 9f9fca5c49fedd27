package schema

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// Part is one segment's results as found on disk: its summary (nil when
// it wrote none) and its timeline (nil when it has none).
type Part struct {
	Index    int
	Dir      string
	Summary  *Summary
	Timeline *Timeline
}

// Merge folds the results of the count segments of one run (whole is the
// run's scenario) into the run's summary and timeline, exactly where the
// parts allow it:
//
//   - counts (operations, bytes, errors, the target's) are summed, errors
//     folded by schema.Tally, first occurrences moved to the merged clock
//     (each segment's offset from the earliest start added);
//   - latency histograms are merged (MergeLatency), percentiles recomputed;
//   - timelines are aligned per sample (the n-th sample of every segment is
//     the n-th second of the run): counters and gauges summed, the kind's
//     numeric gauges too; peak_open is the largest summed peak;
//   - the time-to-failure is the earliest segment's, on the merged clock;
//     its ok_before adds the other segments' successes up to then (to
//     their sample interval);
//   - a missing segment, or one that did not finish (its summary rebuilt
//     from its timeline, or interrupted), makes the merged run partial (or
//     interrupted), never passed.
//
// A segment with a timeline but no summary is rebuilt from it (Rebuild).
func Merge(whole *scenarios.Scenario, count int, parts []Part) (*Summary, *Timeline, error) {
	if count < 1 {
		return nil, nil, fmt.Errorf("merge: %d segments", count)
	}
	byIdx := map[int]*Part{}
	for i := range parts {
		p := &parts[i]
		if p.Index < 0 || p.Index >= count {
			return nil, nil, fmt.Errorf("merge: segment %d of %d", p.Index, count)
		}
		if byIdx[p.Index] != nil {
			return nil, nil, fmt.Errorf("merge: segment %d given twice", p.Index)
		}
		if p.Summary == nil && p.Timeline != nil && p.Timeline.Start != nil {
			p.Summary = Rebuild(p.Timeline)
		}
		byIdx[p.Index] = p
	}
	var got []*Part
	for i := range count {
		if p := byIdx[i]; p != nil && p.Summary != nil {
			got = append(got, p)
		}
	}
	if len(got) == 0 {
		return nil, nil, fmt.Errorf("merge: none of the %d segments left results", count)
	}
	first := got[0].Summary
	start := first.Started
	for _, p := range got {
		if p.Summary.Started.Before(start) {
			start = p.Summary.Started
		}
	}
	offset := func(p *Part) float64 { return p.Summary.Started.Sub(start).Seconds() }

	m := &Summary{
		Schema:   SchemaVersion,
		Tool:     first.Tool,
		Scenario: whole,
		Started:  start,
		Latency:  map[string]Latency{},
		Socket:   SocketReport{Requested: whole.Socket, EffectiveSndBuf: first.Socket.EffectiveSndBuf, EffectiveRcvBuf: first.Socket.EffectiveRcvBuf},
		Settings: first.Settings,
		Target:   TargetInfo{Mode: first.Target.Mode, Address: first.Target.Address},
	}
	var t, tgtErrs Tally
	missing, unfinished, interrupted := 0, 0, 0
	reasons := map[string]int{}
	lat := map[string][]Latency{}
	for i := range count {
		p := byIdx[i]
		ref := SegmentRef{Index: i, Status: StatusMissing}
		if p != nil {
			ref.Dir = p.Dir
		}
		if p == nil || p.Summary == nil {
			missing++
			m.Segments = append(m.Segments, ref)
			continue
		}
		s := p.Summary
		off := offset(p)
		ref.Status, ref.Ops, ref.PeakOpen, ref.ElapsedSec, ref.StartOffsetSec = s.Status, s.Ops, s.PeakOpen, s.ElapsedSec, off
		m.Segments = append(m.Segments, ref)
		switch s.Status {
		case StatusPartial:
			unfinished++
		case StatusInterrupted:
			interrupted++
		}
		reasons[s.StopReason]++
		for _, e := range s.Errors {
			t.AddError(errclass.ErrorKey{Phase: e.Phase, Class: e.Class, Code: e.Code}, e.Count, e.FirstAt+off, e.FirstOp)
		}
		s2 := *s
		s2.Errors = nil
		t.AddSummary(&s2)
		for _, e := range s.Target.ServerErrors {
			tgtErrs.AddError(errclass.ErrorKey{Phase: e.Phase, Class: e.Class, Code: e.Code}, e.Count, e.FirstAt+off, e.FirstOp)
		}
		m.Target.Accepted += s.Target.Accepted
		m.Target.Active += s.Target.Active
		m.Target.BytesRead += s.Target.BytesRead
		m.Target.BytesWritten += s.Target.BytesWritten
		m.Target.Datagrams += s.Target.Datagrams
		m.Target.Vanished += s.Target.Vanished
		m.ElapsedSec = max(m.ElapsedSec, off+s.ElapsedSec)
		if s.Ended.After(m.Ended) {
			m.Ended = s.Ended
		}
		for k, l := range s.Latency {
			lat[k] = append(lat[k], l)
		}
	}
	m.Target.ServerErrors = tgtErrs.Errors()
	for k, ls := range lat {
		l, err := MergeLatency(ls...)
		if err != nil {
			m.Notes = append(m.Notes, fmt.Sprintf("latency %s not merged: %v", k, err))
			continue
		}
		m.Latency[k] = l
	}

	tl := mergeTimelines(got, offset)
	for _, smp := range tl.Samples {
		t.PeakOpen = max(t.PeakOpen, smp.PeakOpen, smp.Open)
	}
	t.Fill(m)
	m.TimeToFailure = earliestFailure(got, offset)
	mergeSections(m, got, offset, tl)

	m.StopReason = stopReason(reasons)
	m.Unmet = CheckExpectations(whole.Expect, m.TimeToFailure)
	switch {
	case missing > 0 || unfinished > 0:
		m.Status = StatusPartial
	case interrupted > 0:
		m.Status = StatusInterrupted
	case len(m.Unmet) > 0:
		m.Status = StatusFailed
	default:
		m.Status = StatusPassed
	}
	note := fmt.Sprintf("merged from %d segments", count)
	if missing > 0 || unfinished > 0 {
		note += fmt.Sprintf(" (%d left no results, %d did not finish)", missing, unfinished)
	}
	m.Notes = append([]string{note}, m.Notes...)

	tl.Start = &StartLine{Type: "start", Schema: SchemaVersion, Tool: m.Tool, Scenario: whole, Started: m.Started, Target: m.Target, Settings: m.Settings}
	if m.TimeToFailure != nil {
		for i := range tl.Samples {
			if tl.Samples[i].Elapsed >= m.TimeToFailure.AtSec {
				f := *m.TimeToFailure
				tl.Samples[i].TimeToFailure = &f
				break
			}
		}
	}
	if m.Status != StatusPartial {
		tl.End = &EndLine{Type: "end", Status: m.Status, StopReason: m.StopReason, Elapsed: m.ElapsedSec, TimeToFailure: m.TimeToFailure}
	}
	return m, tl, nil
}

// stopReason is the segments' common stop reason; when they differ,
// failure if one stopped by it, else the most common.
func stopReason(reasons map[string]int) string {
	if reasons[StopFailure] > 0 {
		return StopFailure
	}
	best, n := "", 0
	for r, c := range reasons {
		if c > n || (c == n && r < best) {
			best, n = r, c
		}
	}
	return best
}

func earliestFailure(got []*Part, offset func(*Part) float64) *Failure {
	var f *Failure
	var from *Part
	for _, p := range got {
		pf := p.Summary.TimeToFailure
		if pf == nil {
			continue
		}
		at := pf.AtSec + offset(p)
		if f == nil || at < f.AtSec || (at == f.AtSec && pf.Op < f.Op) {
			c := *pf
			c.AtSec = at
			f, from = &c, p
		}
	}
	if f == nil {
		return nil
	}
	// The other segments' successes up to the failure, to their sample.
	for _, p := range got {
		if p == from || p.Timeline == nil {
			continue
		}
		off := offset(p)
		for _, smp := range p.Timeline.Samples {
			if off+smp.Elapsed > f.AtSec {
				break
			}
			f.OKBefore += smp.OK
		}
	}
	return f
}

// mergeTimelines aligns the segments' samples by sequence number and sums
// them.
func mergeTimelines(got []*Part, offset func(*Part) float64) *Timeline {
	tl := &Timeline{}
	n := 0
	for _, p := range got {
		if p.Timeline != nil {
			n = max(n, len(p.Timeline.Samples))
		}
	}
	for i := range n {
		out := Sample{Type: "sample", Seq: i + 1}
		errs := map[errclass.ErrorKey]*ErrorDelta{}
		for _, p := range got {
			if p.Timeline == nil || i >= len(p.Timeline.Samples) {
				continue
			}
			s := p.Timeline.Samples[i]
			off := offset(p)
			out.Elapsed = max(out.Elapsed, off+s.Elapsed)
			out.Issued += s.Issued
			out.OK += s.OK
			out.Failed += s.Failed
			out.Dropped += s.Dropped
			out.Open += s.Open
			out.PeakOpen += s.PeakOpen
			out.BytesOut += s.BytesOut
			out.BytesIn += s.BytesIn
			for _, d := range s.Errors {
				k := errclass.ErrorKey{Phase: d.Phase, Class: d.Class, Code: d.Code}
				e := errs[k]
				if e == nil {
					e = &ErrorDelta{Phase: d.Phase, Class: d.Class, Code: d.Code}
					errs[k] = e
				}
				e.N += d.N
				if d.FirstAt != nil {
					at := *d.FirstAt + off
					if e.FirstAt == nil || at < *e.FirstAt {
						e.FirstAt, e.FirstOp = &at, d.FirstOp
					}
				}
			}
			for k, v := range s.Extra {
				x, ok := Number(v)
				if !ok {
					continue
				}
				if out.Extra == nil {
					out.Extra = map[string]any{}
				}
				prev, _ := Number(out.Extra[k])
				out.Extra[k] = prev + x
			}
		}
		for _, e := range errs {
			out.Errors = append(out.Errors, *e)
		}
		slices.SortFunc(out.Errors, func(a, b ErrorDelta) int {
			return cmp.Or(cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
		})
		tl.Samples = append(tl.Samples, out)
	}
	return tl
}

// Number reads a number of a sample's decoded maps (extra, host): a JSON
// number (float64) or, in memory, an integer.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// mergeSections merges the kind's section where its counts add up, and
// otherwise keeps the first segment's, with a note.
func mergeSections(m *Summary, got []*Part, offset func(*Part) float64, tl *Timeline) {
	first := got[0].Summary
	m.Sections = first.Sections
	switch {
	case first.Hold != nil:
		h := &HoldReport{Peers: first.Hold.Peers, FirstPeer: first.Hold.FirstPeer, LastPeer: first.Hold.LastPeer}
		allOpen := true
		for _, p := range got {
			x := p.Summary.Hold
			if x == nil {
				allOpen = false
				continue
			}
			h.Wanted += x.Wanted
			h.Opened += x.Opened
			h.HeldAtEnd += x.HeldAtEnd
			h.PeakHeld += x.PeakHeld
			h.ClosedByServer += x.ClosedByServer
			h.ResetByServer += x.ResetByServer
			if x.AllOpenSec == 0 {
				allOpen = false
			}
			h.AllOpenSec = max(h.AllOpenSec, x.AllOpenSec+offset(p))
			h.RSSBeforeBytes += x.RSSBeforeBytes
			h.RSSAllOpenBytes += x.RSSAllOpenBytes
		}
		if h.RSSBeforeBytes > 0 && h.RSSAllOpenBytes > 0 && h.Opened > 0 {
			h.UserBytesPerConn = (float64(h.RSSAllOpenBytes) - float64(h.RSSBeforeBytes)) / float64(h.Opened)
		}
		if !allOpen {
			h.AllOpenSec = 0
		}
		// Held at once: the peak of the summed per-second gauge, when the
		// timelines have it (the sum of the segments' peaks bounds it).
		var peak float64
		for _, smp := range tl.Samples {
			if v, ok := Number(smp.Extra["held"]); ok {
				peak = max(peak, v)
			}
		}
		if peak > 0 {
			h.PeakHeld = uint64(peak)
		}
		m.Hold = h
	case first.Churn != nil:
		c := &ChurnReport{Peers: first.Churn.Peers, FirstPeer: first.Churn.FirstPeer, LastPeer: first.Churn.LastPeer}
		var life float64
		var steady *GaugeStats
		for _, p := range got {
			x := p.Summary.Churn
			if x == nil {
				continue
			}
			c.Connects += x.Connects
			c.ClosedFIN += x.ClosedFIN
			c.ClosedRST += x.ClosedRST
			c.Bursts += x.Bursts
			life += x.MeanLifetimeSec * float64(x.Connects)
			if g := x.SteadyOpen; g != nil {
				if steady == nil {
					steady = &GaugeStats{Samples: g.Samples}
				}
				steady.Samples = min(steady.Samples, g.Samples)
				steady.Mean += g.Mean
				steady.Min += g.Min
				steady.Max += g.Max
			}
		}
		if c.Connects > 0 {
			c.MeanLifetimeSec = life / float64(c.Connects)
		}
		if m.ElapsedSec > 0 {
			c.ConnectsPerSec = float64(c.Connects) / m.ElapsedSec
		}
		c.SteadyOpen = steady
		m.Churn = c
	case first.PortExhaustion != nil:
		r := *first.PortExhaustion
		r.BusySkipped, r.RecoveredAtSec = 0, nil
		for _, p := range got {
			x := p.Summary.PortExhaustion
			if x == nil {
				continue
			}
			r.BusySkipped += x.BusySkipped
			if x.RecoveredAtSec != nil {
				at := *x.RecoveredAtSec + offset(p)
				if r.RecoveredAtSec == nil || at < *r.RecoveredAtSec {
					r.RecoveredAtSec = &at
				}
			}
		}
		r.ConnectsBeforeFailure = nil
		if f := m.TimeToFailure; f != nil {
			n := f.OKBefore
			r.ConnectsBeforeFailure = &n
		}
		m.PortExhaustion = &r
	default:
		if len(got) > 1 {
			m.Notes = append(m.Notes, fmt.Sprintf("the %s section is segment %d's: this kind's section is not merged", first.Scenario.Kind, got[0].Index))
		}
	}
}

// SortParts orders parts by segment index.
func SortParts(ps []Part) { sort.Slice(ps, func(i, j int) bool { return ps[i].Index < ps[j].Index }) }
