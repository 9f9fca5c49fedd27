package schema

import (
	"cmp"
	"slices"

	"github.com/nobufs/nobufs/workers/errclass"
)

// Tally folds counts into a summary's totals, errors and classes. It is
// the one aggregator of counts: the engine folds its workers' tables into
// one, a rebuilt summary folds timeline samples, a merge folds the
// summaries of segments — all with the same rules:
//
//   - counts add up;
//   - the first occurrence of an error is the earliest one (at equal
//     times, the lower operation index);
//   - errors are listed most frequent first, classes by first occurrence.
//
// The zero Tally is ready to use.
type Tally struct {
	Ops      OpCounts
	BytesOut uint64
	BytesIn  uint64
	// PeakOpen is the most connections seen open at once (the largest of
	// the peaks added).
	PeakOpen int64
	errs     map[errclass.ErrorKey]*ErrorCount
}

// AddError counts n occurrences of k whose first was at firstAt seconds
// into the run, in operation firstOp (0: not known).
func (t *Tally) AddError(k errclass.ErrorKey, n uint64, firstAt float64, firstOp uint64) {
	if t.errs == nil {
		t.errs = map[errclass.ErrorKey]*ErrorCount{}
	}
	e := t.errs[k]
	if e == nil {
		t.errs[k] = &ErrorCount{Phase: k.Phase, Class: k.Class, Code: k.Code, Name: errclass.WSAName(k.Code),
			Count: n, FirstAt: firstAt, FirstOp: firstOp}
		return
	}
	e.Count += n
	if firstAt < e.FirstAt || (firstAt == e.FirstAt && firstOp != 0 && (e.FirstOp == 0 || firstOp < e.FirstOp)) {
		e.FirstAt, e.FirstOp = firstAt, firstOp
	}
}

// AddSample folds one timeline sample: its counters, its open gauge and
// its errors. An error delta that carries its first occurrence (schema 2)
// gives it exactly; otherwise the end of the sample bounds it.
func (t *Tally) AddSample(s Sample) {
	t.Ops.Issued += s.Issued
	t.Ops.OK += s.OK
	t.Ops.Failed += s.Failed
	t.Ops.Dropped += s.Dropped
	t.BytesOut += s.BytesOut
	t.BytesIn += s.BytesIn
	t.PeakOpen = max(t.PeakOpen, s.Open, s.PeakOpen)
	for _, d := range s.Errors {
		at := s.Elapsed
		if d.FirstAt != nil {
			at = *d.FirstAt
		}
		t.AddError(errclass.ErrorKey{Phase: d.Phase, Class: d.Class, Code: d.Code}, d.N, at, d.FirstOp)
	}
}

// AddSummary folds another summary's totals and errors (segments of one
// run). Its peak is taken as a lower bound of the merged peak.
func (t *Tally) AddSummary(s *Summary) {
	t.Ops.Issued += s.Ops.Issued
	t.Ops.OK += s.Ops.OK
	t.Ops.Failed += s.Ops.Failed
	t.Ops.Aborted += s.Ops.Aborted
	t.Ops.Dropped += s.Ops.Dropped
	t.BytesOut += s.BytesOut
	t.BytesIn += s.BytesIn
	t.PeakOpen = max(t.PeakOpen, s.PeakOpen)
	for _, e := range s.Errors {
		t.AddError(errclass.ErrorKey{Phase: e.Phase, Class: e.Class, Code: e.Code}, e.Count, e.FirstAt, e.FirstOp)
	}
}

// Errors lists every error counted, most frequent first (ties: by phase,
// class, code).
func (t *Tally) Errors() []ErrorCount {
	out := make([]ErrorCount, 0, len(t.errs))
	for _, e := range t.errs {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
	})
	return out
}

// Classes lists each class's total and first occurrence, first
// occurrences first.
func (t *Tally) Classes() []ClassFirst {
	by := map[errclass.Class]*ClassFirst{}
	for _, e := range t.Errors() {
		c := by[e.Class]
		if c == nil {
			by[e.Class] = &ClassFirst{Class: e.Class, Count: e.Count, FirstAt: e.FirstAt, FirstOp: e.FirstOp, Phase: e.Phase, Code: e.Code}
			continue
		}
		c.Count += e.Count
		if e.FirstAt < c.FirstAt || (e.FirstAt == c.FirstAt && e.FirstOp != 0 && e.FirstOp < c.FirstOp) {
			c.FirstAt, c.FirstOp, c.Phase, c.Code = e.FirstAt, e.FirstOp, e.Phase, e.Code
		}
	}
	out := make([]ClassFirst, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ClassFirst) int {
		return cmp.Or(cmp.Compare(a.FirstAt, b.FirstAt), cmp.Compare(a.FirstOp, b.FirstOp), cmp.Compare(a.Class, b.Class))
	})
	return out
}

// First returns the earliest first occurrence among the given classes,
// nil when none occurred: a failure without its ok_before, which only the
// run itself knows.
func (t *Tally) First(classes []string) *Failure {
	var f *Failure
	for _, c := range t.Classes() {
		if !slices.Contains(classes, string(c.Class)) {
			continue
		}
		if f == nil || c.FirstAt < f.AtSec {
			f = &Failure{Class: c.Class, Phase: c.Phase, Code: c.Code, Name: errclass.WSAName(c.Code), AtSec: c.FirstAt, Op: c.FirstOp}
		}
	}
	return f
}

// Fill writes the tally into s: its operation counts, bytes, peak,
// errors and classes.
func (t *Tally) Fill(s *Summary) {
	s.Ops, s.BytesOut, s.BytesIn, s.PeakOpen = t.Ops, t.BytesOut, t.BytesIn, t.PeakOpen
	s.Errors, s.Classes = t.Errors(), t.Classes()
}
