package workers

import (
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers/errclass"
)

// timeline writes NDJSON lines, one Write per line, and keeps the first error.
type timeline struct {
	w     io.Writer
	err   error
	lines int // written whole
}

func (t *timeline) write(v any) {
	if t.w == nil || t.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.err = err
		return
	}
	b = append(b, '\n')
	if _, err := t.w.Write(b); err != nil {
		t.err = err
		return
	}
	t.lines++
}

// sampler builds the per-interval samples from the workers' counters. It
// runs on one goroutine.
type sampler struct {
	r         *run
	tl        *timeline
	kind      Kind
	hostState func() any
	watch     Watcher
	progress  func(Progress)
	// onSample, when set, sees each sample after it is written.
	onSample func(schema.Sample)

	seq                                                          int
	prevIssued, prevOK, prevFailed, prevDropped, prevOut, prevIn uint64
	prevErrs                                                     map[errclass.ErrorKey]*errStat
	lastAt                                                       time.Duration
	ttfWritten                                                   bool
	stall                                                        stallWatch
}

func (s *sampler) sample() {
	now := time.Since(s.r.start)
	s.stall.check(s.r, now)
	var ok, failed, out, in uint64
	errs := map[errclass.ErrorKey]*errStat{}
	for _, w := range s.r.workers {
		ok += w.ok.Load()
		out += w.bytesOut.Load()
		in += w.bytesIn.Load()
		w.snapshotErrors(errs)
	}
	// Every failed operation is counted under its error key; the
	// watchers' keys, added next, are no operation's.
	for _, st := range errs {
		failed += st.count
	}
	s.r.signals.w.snapshotErrors(errs)
	issued := min(s.r.issued.Load(), s.r.sc.Stop.MaxOps)
	dropped := s.r.dropped.Load()
	open := s.r.open.Load()
	peak := max(s.r.ivPeak.Swap(open), open)
	s.seq++
	smp := schema.Sample{Type: "sample", Seq: s.seq, Elapsed: now.Seconds(), Issued: issued - s.prevIssued, OK: ok - s.prevOK,
		Failed: failed - s.prevFailed, Dropped: dropped - s.prevDropped, Open: open, PeakOpen: peak,
		BytesOut: out - s.prevOut, BytesIn: in - s.prevIn}
	classes := map[errclass.Class]uint64{}
	for k, st := range errs {
		classes[k.Class] += st.count
		p := s.prevErrs[k]
		switch {
		case p == nil:
			at := st.firstAt.Seconds()
			smp.Errors = append(smp.Errors, schema.ErrorDelta{Phase: k.Phase, Class: k.Class, Code: k.Code, N: st.count, FirstAt: &at, FirstOp: st.firstOp})
		case st.count > p.count:
			smp.Errors = append(smp.Errors, schema.ErrorDelta{Phase: k.Phase, Class: k.Class, Code: k.Code, N: st.count - p.count})
		}
	}
	slices.SortFunc(smp.Errors, func(a, b schema.ErrorDelta) int {
		return cmp.Or(cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
	})
	ttf := s.r.timeToFailure()
	if ttf != nil && !s.ttfWritten {
		smp.TimeToFailure, s.ttfWritten = ttf, true
	}
	if s.hostState != nil {
		smp.Host = s.hostState()
	}
	if ext, ok := s.kind.(Sampler); ok {
		smp.Extra = ext.Sample(now)
	}
	if s.watch != nil {
		smp.Watch = s.watch.Sample(now)
	}
	s.tl.write(smp)
	if s.onSample != nil {
		s.onSample(smp)
	}
	if s.progress != nil {
		rate := 0.0
		if d := (now - s.lastAt).Seconds(); d > 0 {
			rate = float64(ok-s.prevOK) / d
		}
		s.progress(Progress{Elapsed: now, OK: ok, Failed: failed, Dropped: dropped, OKPerSec: rate, Open: open,
			Classes: classes, TimeToFailure: ttf})
	}
	s.prevIssued, s.prevOK, s.prevFailed, s.prevDropped, s.prevOut, s.prevIn = issued, ok, failed, dropped, out, in
	s.prevErrs = errs
	s.lastAt = now
}
