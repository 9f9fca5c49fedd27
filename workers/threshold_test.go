package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"
)

// TestOnSampleStops: the sampler hands every sample to Options.OnSample;
// true stops the run with stop reason threshold, and the run is failed.
func TestOnSampleStops(t *testing.T) {
	sc := parseScenario(t, `
name: onsample
kind: port-exhaustion
load: {workers: 1}
stop: {duration: 30s}
`)
	var seen []schema.Sample
	start := time.Now()
	sum, _ := runScenario(t, context.Background(), sc, Options{
		SampleEvery: 20 * time.Millisecond,
		OnSample: func(s schema.Sample) bool {
			seen = append(seen, s)
			return len(seen) == 3
		},
	})
	if sum.StopReason != schema.StopThreshold {
		t.Errorf("stop reason %q, want %q", sum.StopReason, schema.StopThreshold)
	}
	if sum.Status != schema.StatusFailed {
		t.Errorf("status %q, want %q", sum.Status, schema.StatusFailed)
	}
	// Three interval samples and the last one at the end.
	if got, want := len(seen), 4; got != want {
		t.Errorf("OnSample saw %d samples, want %d", got, want)
	}
	for i, s := range seen {
		if s.Seq != i+1 {
			t.Errorf("sample %d has seq %d", i, s.Seq)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the run went on for %v after the stop", d)
	}
}

// TestThresholdsJudged: thresholds are judged when the run ends, beside
// expect; a crossed one fails the run.
func TestThresholdsJudged(t *testing.T) {
	sc := parseScenario(t, `
name: judged
kind: port-exhaustion
load: {workers: 1}
stop: {max_ops: 20}
thresholds:
  - metric: ops.ok
    min: 20
  - metric: errors
    max: 0
  - metric: connect.p50
    max: 10s
  - metric: ok_rate
    max: 50%
`)
	sum, _ := runScenario(t, context.Background(), sc, Options{})
	var got []string
	for _, r := range sum.Thresholds {
		got = append(got, r.Verdict)
	}
	want := []string{schema.ThresholdOK, schema.ThresholdOK, schema.ThresholdOK, schema.ThresholdCrossed}
	if len(got) != len(want) {
		t.Fatalf("verdicts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("threshold %d (%s): verdict %q (%s), want %q", i, sc.Thresholds[i], got[i], sum.Thresholds[i].Detail, want[i])
		}
	}
	if sum.Status != schema.StatusFailed {
		t.Errorf("status %q, want %q", sum.Status, schema.StatusFailed)
	}
}
