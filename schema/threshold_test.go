package schema

import (
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// thresholdRun is a finished run: 100 issued, 97 ok, 3 failed (2
// eaddrnotavail, 1 econnreset), the failure at 1.5 s after 40 ok, 10 s
// long, 100 connects of 10 µs … 1 ms.
func thresholdRun() *Summary {
	h := NewHist()
	for i := range 100 {
		Record(h, time.Duration(i+1)*10*time.Microsecond) // 10 µs … 1 ms, exact in the histogram
	}
	return &Summary{
		ElapsedSec: 10,
		Target:     TargetInfo{Mode: "sink", ServerErrors: []ErrorCount{{Phase: "accept", Class: "emfile", Count: 4}}},
		Ops:        OpCounts{Issued: 100, OK: 97, Failed: 3},
		PeakOpen:   7,
		Errors: []ErrorCount{
			{Phase: "connect", Class: "eaddrnotavail", Code: 99, Count: 2, FirstAt: 1.5},
			{Phase: "recv", Class: "econnreset", Code: 104, Count: 1, FirstAt: 4},
		},
		Classes: []ClassFirst{
			{Class: "eaddrnotavail", Count: 2, FirstAt: 1.5},
			{Class: "econnreset", Count: 1, FirstAt: 4},
		},
		TimeToFailure: &Failure{Class: "eaddrnotavail", AtSec: 1.5, OKBefore: 40},
		Latency:       map[string]Latency{"connect": LatencyOf(h), "op": {}},
		Sections:      Sections{HalfOpen: &HalfOpenReport{Completed: 5}},
	}
}

func TestJudgeThresholds(t *testing.T) {
	run := thresholdRun()
	noFailure := thresholdRun()
	noFailure.TimeToFailure, noFailure.Classes, noFailure.Errors = nil, nil, nil
	nothing := &Summary{ElapsedSec: 10, Target: TargetInfo{Mode: "sink"}, Latency: map[string]Latency{}}
	schema1 := thresholdRun()
	l := schema1.Latency["connect"]
	l.HDR = ""
	schema1.Latency["connect"] = l
	recovered := thresholdRun()
	at := 2.25
	recovered.PortExhaustion = &PortReport{RecoveredAtSec: &at}
	notRecovered := thresholdRun()
	notRecovered.PortExhaustion = &PortReport{}
	external := thresholdRun()
	external.Target = TargetInfo{Mode: "external"}

	tests := []struct {
		name    string
		th      scenarios.Threshold
		s       *Summary
		verdict string
		value   float64 // when there is one
		detail  string
	}{
		// Time to failure: uncensored, per class, censored both ways.
		{"ttf ok", scenarios.Threshold{Metric: "ttf", Min: "1s"}, run, ThresholdOK, 1.5, "ttf = 1.5s ≥ 1s"},
		{"ttf crossed", scenarios.Threshold{Metric: "ttf", Min: "2s"}, run, ThresholdCrossed, 1.5, "ttf = 1.5s < 2s"},
		{"ttf of a class", scenarios.Threshold{Metric: "ttf", Class: "econnreset", Max: "5s"}, run, ThresholdOK, 4, "ttf[econnreset] = 4s ≤ 5s"},
		{"no failure passes a min it outlasted", scenarios.Threshold{Metric: "ttf", Min: "5s"}, noFailure, ThresholdOK, 10, "ttf ≥ 5s: no failure within 10s"},
		{"no failure crosses a max it outlasted", scenarios.Threshold{Metric: "ttf", Max: "5s"}, noFailure, ThresholdCrossed, 10, "ttf > 5s: no failure within 10s"},
		{"no failure short of the bound", scenarios.Threshold{Metric: "ttf", Min: "30s"}, noFailure, ThresholdNoData, 0, "no data: no failure within 10s, which decides neither bound"},
		{"censored with both bounds", scenarios.Threshold{Metric: "ttf", Min: "5s", Max: "20s"}, noFailure, ThresholdNoData, 0, "no data: no failure within 10s, which decides neither bound"},
		{"ops before failure", scenarios.Threshold{Metric: "ops_before_failure", Min: "50"}, run, ThresholdCrossed, 40, "ops_before_failure = 40 < 50"},
		// Counts and rates; a run that issued nothing has no data.
		{"errors", scenarios.Threshold{Metric: "errors", Max: "0"}, run, ThresholdCrossed, 3, "errors = 3 > 0"},
		{"errors of a class", scenarios.Threshold{Metric: "errors", Class: "econnreset", Max: "1"}, run, ThresholdOK, 1, "errors[econnreset] = 1 ≤ 1"},
		{"error rate", scenarios.Threshold{Metric: "error_rate", Max: "1%"}, run, ThresholdCrossed, 0.03, "error_rate = 3% > 1%"},
		{"ok rate with no samples is not a pass", scenarios.Threshold{Metric: "ok_rate", Min: "0.9"}, nothing, ThresholdNoData, 0, "no data: no operation was issued"},
		{"ok rate", scenarios.Threshold{Metric: "ok_rate", Min: "0.9"}, run, ThresholdOK, 0.97, "ok_rate = 97% ≥ 90%"},
		{"ok per sec", scenarios.Threshold{Metric: "ok_per_sec", Min: "10"}, run, ThresholdCrossed, 9.7, "ok_per_sec = 9.7/s < 10/s"},
		{"dropped", scenarios.Threshold{Metric: "dropped", Max: "0"}, run, ThresholdOK, 0, "dropped = 0 ≤ 0"},
		{"dropped with no arrivals", scenarios.Threshold{Metric: "dropped_rate", Max: "0.1"}, nothing, ThresholdNoData, 0, "no data: no arrival was due"},
		{"peak open", scenarios.Threshold{Metric: "peak_open", Max: "5"}, run, ThresholdCrossed, 7, "peak_open = 7 > 5"},
		// Latency from the histogram; no connect means no data.
		{"connect p99", scenarios.Threshold{Metric: "connect.p99", Max: "500us"}, run, ThresholdCrossed, 0.00099, "connect.p99 = 990µs > 500µs"},
		{"connect p50", scenarios.Threshold{Metric: "connect.p50", Max: "500us"}, run, ThresholdOK, 0.0005, "connect.p50 = 500µs ≤ 500µs"},
		{"connect max", scenarios.Threshold{Metric: "connect.max", Max: "1s"}, run, ThresholdOK, 0.001, "connect.max = 1ms ≤ 1s"},
		{"op latency with no op", scenarios.Threshold{Metric: "op.p99", Max: "1s"}, run, ThresholdNoData, 0, "no data: no operation succeeded, so there is no op latency"},
		{"schema 1 p99", scenarios.Threshold{Metric: "connect.p99", Max: "1s"}, schema1, ThresholdOK, 0.00099, "connect.p99 = 990µs ≤ 1s"},
		{"schema 1 p95", scenarios.Threshold{Metric: "connect.p95", Max: "1s"}, schema1, ThresholdNoData, 0, "no data: this summary keeps p50, p90, p99 and p99.9 only (no histogram: schema 1)"},
		// Recovery; server-side signals.
		{"recovery", scenarios.Threshold{Metric: "recovery", Max: "1s"}, recovered, ThresholdOK, 0.75, "recovery = 750ms ≤ 1s"},
		{"not recovered", scenarios.Threshold{Metric: "recovery", Max: "5s"}, notRecovered, ThresholdCrossed, 8.5, "recovery > 5s: no recovery within 8.5s"},
		{"no recovery recorded", scenarios.Threshold{Metric: "recovery", Max: "5s"}, run, ThresholdNoData, 0, "no data: the run records no recovery (kind port-exhaustion does, with stop.after_failure)"},
		{"server errors", scenarios.Threshold{Metric: "server_errors", Class: "emfile", Max: "0"}, run, ThresholdCrossed, 4, "server_errors[emfile] = 4 > 0"},
		{"server errors of an external target", scenarios.Threshold{Metric: "server_errors", Max: "0"}, external, ThresholdNoData, 0, "no data: an external target reports no errors of its own"},
		// Paths into summary.json.
		{"path", scenarios.Threshold{Metric: "half_open.completed", Min: "5"}, run, ThresholdOK, 5, "half_open.completed = 5 ≥ 5"},
		{"path of another kind", scenarios.Threshold{Metric: "dead_peer.peak_queued_total", Max: "5"}, run, ThresholdNoData, 0, "no data: dead_peer.peak_queued_total is not in this run's summary"},
		{"bad path", scenarios.Threshold{Metric: "half_open.complete", Min: "5"}, run, ThresholdNoData, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := JudgeThresholds([]scenarios.Threshold{tt.th}, tt.s)
			if len(rs) != 1 {
				t.Fatalf("got %d results", len(rs))
			}
			r := rs[0]
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %q (%s), want %q", r.Verdict, r.Detail, tt.verdict)
			}
			if tt.detail != "" && r.Detail != tt.detail {
				t.Errorf("detail %q, want %q", r.Detail, tt.detail)
			}
			switch {
			case tt.verdict == ThresholdNoData && r.Value != nil:
				t.Errorf("no data with value %v", *r.Value)
			case tt.verdict != ThresholdNoData && (r.Value == nil || *r.Value-tt.value > 1e-9 || tt.value-*r.Value > 1e-9):
				t.Errorf("value %v, want %v", r.Value, tt.value)
			}
			if got, want := ThresholdsFailed(rs), tt.verdict != ThresholdOK; got != want {
				t.Errorf("ThresholdsFailed = %v, want %v", got, want)
			}
		})
	}
}

func TestCheckMetric(t *testing.T) {
	for _, ok := range []string{"ttf", "connect.p99.9", "half_open.completed", "latency.connect.p99_us", "dead_peer.top.0.queued", "ops.dropped"} {
		if err := CheckMetric(ok); err != nil {
			t.Errorf("CheckMetric(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"half_open.complete", "scenario.name", "settings.os", "connect.p0", "errors"[:3]} {
		if err := CheckMetric(bad); err == nil {
			t.Errorf("CheckMetric(%q) = nil, want an error", bad)
		}
	}
}

// TestThresholdMonitor aborts on the sample that crosses a live threshold,
// not before its delay, and never for lack of data.
func TestThresholdMonitor(t *testing.T) {
	sc := &scenarios.Scenario{Thresholds: []scenarios.Threshold{
		{Metric: "connect.p99", Max: "1ms"}, // not live: judged at the end only
		{Metric: "errors", Class: "econnreset", Max: "2", Abort: true, Delay: scenarios.Duration(3 * time.Second)},
	}}
	m := NewThresholdMonitor(sc)
	if m == nil {
		t.Fatal("no monitor for a threshold with abort")
	}
	reset := func(n uint64) []ErrorDelta {
		return []ErrorDelta{{Phase: errclass.Phase("recv"), Class: "econnreset", Code: 104, N: n}}
	}
	samples := []struct {
		s    Sample
		stop bool
	}{
		{Sample{Elapsed: 1}, false}, // nothing issued: no data, no abort
		{Sample{Elapsed: 2, Issued: 10, OK: 5, Failed: 5, Errors: reset(5)}, false}, // crossed, but within the delay
		{Sample{Elapsed: 3, Issued: 10, OK: 10}, true},                              // the delay is over: 5 > 2
		{Sample{Elapsed: 4, Issued: 10, OK: 10}, true},                              // stays tripped
	}
	for i, tt := range samples {
		if got := m.Sample(tt.s); got != tt.stop {
			t.Errorf("sample %d: stop = %v, want %v", i, got, tt.stop)
		}
	}
	sum := &Summary{Thresholds: []ThresholdResult{{}, {}}}
	m.Mark(sum)
	if sum.Thresholds[0].Aborted || !sum.Thresholds[1].Aborted {
		t.Errorf("Mark: aborted flags %v, %v; want false, true", sum.Thresholds[0].Aborted, sum.Thresholds[1].Aborted)
	}
	if NewThresholdMonitor(&scenarios.Scenario{Thresholds: sc.Thresholds[:1]}) != nil {
		t.Errorf("a monitor without any threshold that aborts")
	}
	var none *ThresholdMonitor
	none.Mark(sum) // a nil monitor marks nothing
}

// TestThresholdMonitorTTF aborts a run that has not failed by its max.
func TestThresholdMonitorTTF(t *testing.T) {
	sc := &scenarios.Scenario{Thresholds: []scenarios.Threshold{{Metric: "ttf", Max: "2s", Abort: true}}}
	m := NewThresholdMonitor(sc)
	if m.Sample(Sample{Elapsed: 1, Issued: 5, OK: 5}) {
		t.Errorf("stopped at 1 s, before the bound")
	}
	if !m.Sample(Sample{Elapsed: 2.1, Issued: 5, OK: 5}) {
		t.Errorf("not stopped at 2.1 s without a failure, past max 2s")
	}
}
