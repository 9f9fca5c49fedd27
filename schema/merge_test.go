package schema

import (
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// part makes a segment's results: ok operations with connect latencies
// lat (µs), an error at errAt, started off seconds after t0.
func part(t *testing.T, idx int, t0 time.Time, off float64, ok uint64, lat []int64, errAt float64, samples []Sample) Part {
	t.Helper()
	h := NewHist()
	for _, v := range lat {
		Record(h, time.Duration(v)*time.Microsecond)
	}
	s := &Summary{
		Schema: SchemaVersion, Status: StatusPassed, StopReason: StopDuration,
		Started: t0.Add(time.Duration(off * float64(time.Second))), ElapsedSec: 2,
		Ops:           OpCounts{Issued: ok + 1, OK: ok, Failed: 1},
		Latency:       map[string]Latency{"connect": LatencyOf(h)},
		Target:        TargetInfo{Mode: "sink", Accepted: ok},
		Errors:        []ErrorCount{{Phase: errclass.PhaseConnect, Class: errclass.ClassEADDRNOTAVAIL, Code: 99, Count: 1, FirstAt: errAt, FirstOp: uint64(idx + 1)}},
		TimeToFailure: &Failure{Class: errclass.ClassEADDRNOTAVAIL, Phase: errclass.PhaseConnect, Code: 99, AtSec: errAt, Op: uint64(idx + 1), OKBefore: 1},
		Sections:      Sections{Hold: &HoldReport{Peers: 1, Wanted: ok, Opened: ok, HeldAtEnd: ok, PeakHeld: ok, AllOpenSec: 0.5}},
	}
	return Part{Index: idx, Dir: "segments/0" + string(rune('0'+idx)), Summary: s, Timeline: &Timeline{Samples: samples}}
}

func TestMerge(t *testing.T) {
	whole := scenarios.Default(scenarios.KindHold)
	whole.Failure.Classes = []string{"eaddrnotavail"}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	a := part(t, 0, t0, 0, 10, []int64{100, 200}, 1.5, []Sample{{Seq: 1, Elapsed: 1, OK: 4, Open: 4, PeakOpen: 4, Extra: map[string]any{"held": 4.0}}, {Seq: 2, Elapsed: 2, OK: 6, Open: 10, PeakOpen: 10, Extra: map[string]any{"held": 10.0}}})
	b := part(t, 1, t0, 0.25, 20, []int64{300}, 0.5, []Sample{{Seq: 1, Elapsed: 1, OK: 20, Open: 20, PeakOpen: 20, Extra: map[string]any{"held": 20.0}}, {Seq: 2, Elapsed: 2, OK: 0, Open: 20, PeakOpen: 20, Extra: map[string]any{"held": 20.0}}})

	t.Run("all", func(t *testing.T) {
		m, tl, err := Merge(&whole, 2, []Part{a, b})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"status", m.Status, StatusPassed},
			{"ops", m.Ops, OpCounts{Issued: 32, OK: 30, Failed: 2}},
			{"target accepted", m.Target.Accepted, uint64(30)},
			{"connect count", m.Latency["connect"].Count, uint64(3)},
			{"connect max", m.Latency["connect"].Max, int64(300)},
			{"errors", m.Errors[0].Count, uint64(2)},
			// b's failure at 0.5 s of its own clock is 0.75 s on the merged one.
			{"ttf at", m.TimeToFailure.AtSec, 0.75},
			{"ttf op", m.TimeToFailure.Op, uint64(2)},
			// its own 1 ok, and a's 0 successes up to 0.75 s (a's first sample ends at 1 s).
			{"ttf ok_before", m.TimeToFailure.OKBefore, uint64(1)},
			{"first error at", m.Errors[0].FirstAt, 0.75},
			{"elapsed", m.ElapsedSec, 2.25},
			{"peak open", m.PeakOpen, int64(30)},
			{"hold opened", m.Hold.Opened, uint64(30)},
			{"hold peak", m.Hold.PeakHeld, uint64(30)},
			{"hold all open", m.Hold.AllOpenSec, 0.75},
			{"segments", len(m.Segments), 2},
			{"samples", len(tl.Samples), 2},
			{"sample 1 ok", tl.Samples[0].OK, uint64(24)},
			{"sample 1 held", tl.Samples[0].Extra["held"], 24.0},
			{"end", tl.End != nil, true},
		} {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
	})
	t.Run("one missing", func(t *testing.T) {
		m, tl, err := Merge(&whole, 3, []Part{a, b})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != StatusPartial || m.Segments[2].Status != StatusMissing || tl.End != nil {
			t.Errorf("status %s, segment 2 %s, end line %v; want partial, missing, none", m.Status, m.Segments[2].Status, tl.End)
		}
	})
	t.Run("unfinished", func(t *testing.T) {
		c := part(t, 1, t0, 0, 5, nil, 1, nil)
		c.Summary.Status = StatusPartial
		m, _, err := Merge(&whole, 2, []Part{a, c})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != StatusPartial {
			t.Errorf("status %s with a partial segment, want partial", m.Status)
		}
	})
	t.Run("nothing", func(t *testing.T) {
		if _, _, err := Merge(&whole, 2, nil); err == nil {
			t.Error("merge of no segments succeeded")
		}
		if _, _, err := Merge(&whole, 2, []Part{a, a}); err == nil {
			t.Error("merge of one segment twice succeeded")
		}
	})
}
