package schema

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// latencyOfValues records each value (µs) into a fresh histogram.
func latencyOfValues(t *testing.T, us ...int64) Latency {
	t.Helper()
	h := NewHist()
	for _, v := range us {
		Record(h, time.Duration(v)*time.Microsecond)
	}
	return LatencyOf(h)
}

// TestMergeLatencyOfTwoRuns: the histograms of two runs, written to and
// read back from summary.json, merge into the counts and extremes of
// both, and percentiles of the union, not of the percentiles.
func TestMergeLatencyOfTwoRuns(t *testing.T) {
	var a, b []int64
	for i := int64(1); i <= 900; i++ {
		a = append(a, 100+i) // 101…1000 µs
	}
	for i := int64(1); i <= 100; i++ {
		b = append(b, 50_000+i*100) // 50.1…60 ms: a slow run
	}
	la, lb := latencyOfValues(t, a...), latencyOfValues(t, b...)
	// Through JSON, as a reader of two summary.json files gets them.
	var ra, rb Latency
	for _, p := range []struct {
		in  Latency
		out *Latency
	}{{la, &ra}, {lb, &rb}} {
		data, err := json.Marshal(p.in)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, p.out); err != nil {
			t.Fatal(err)
		}
	}
	m, err := MergeLatency(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Count, uint64(1000); got != want {
		t.Errorf("merged count = %d, want %d", got, want)
	}
	if m.Min != la.Min || m.Max != lb.Max {
		t.Errorf("merged min/max = %d/%d, want %d/%d", m.Min, m.Max, la.Min, lb.Max)
	}
	// The 90th percentile of the union is the last of the fast run
	// (~1000 µs); the mean of the two p90s (~28 ms) would be wrong.
	if m.P90 < 990 || m.P90 > 1010 {
		t.Errorf("merged p90 = %d µs, want ≈1000 (the union's, not an average of percentiles)", m.P90)
	}
	if m.P99 < 58_000 || m.P99 > 59_500 {
		t.Errorf("merged p99 = %d µs, want ≈59000", m.P99)
	}
	// Merging is exact: the same as recording everything in one histogram.
	all := latencyOfValues(t, append(append([]int64{}, a...), b...)...)
	if m.HDR != all.HDR || m.P50 != all.P50 || m.P999 != all.P999 {
		t.Errorf("merged = %+v, want the single-histogram %+v", m, all)
	}
}

func TestLatencyHistErrors(t *testing.T) {
	if h, err := (Latency{}).Hist(); err != nil || h.TotalCount() != 0 {
		t.Errorf("empty latency: %v, %v; want an empty histogram", h, err)
	}
	old := Latency{Count: 3, P50: 10} // schema 1: percentiles only
	if _, err := old.Hist(); !errors.Is(err, ErrNoHistogram) {
		t.Errorf("schema 1 latency: err = %v, want ErrNoHistogram", err)
	}
	if _, err := MergeLatency(latencyOfValues(t, 5), old); !errors.Is(err, ErrNoHistogram) {
		t.Errorf("merge with a schema 1 latency: err = %v, want ErrNoHistogram", err)
	}
	l := latencyOfValues(t, 5, 6)
	l.Count = 3 // a summary that lies about its histogram
	if _, err := l.Hist(); err == nil {
		t.Error("a count that disagrees with the histogram was accepted")
	}
	if _, err := (Latency{Count: 1, HDR: "not base64!"}).Hist(); err == nil {
		t.Error("a garbled histogram was accepted")
	}
}
