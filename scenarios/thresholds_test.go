package scenarios

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

func TestLimit(t *testing.T) {
	tests := []struct {
		in    string
		want  float64
		isErr bool
	}{
		{"250ms", 0.25, false},
		{"2m", 120, false},
		{"100", 100, false},
		{"0.5", 0.5, false},
		{"1_000", 1000, false},
		{"1%", 0.01, false},
		{"99.9%", 0.999, false},
		{"0", 0, false},
		{"5 parsecs", 0, true},
		{"NaN", 0, true},
		{"x%", 0, true},
	}
	for _, tt := range tests {
		var l Limit
		err := l.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.isErr {
			t.Errorf("UnmarshalText(%q) error = %v, want error %v", tt.in, err, tt.isErr)
			continue
		}
		if tt.isErr {
			continue
		}
		got, ok := l.Value()
		if !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Limit(%q).Value() = %v, %v; want %v, true", tt.in, got, ok, tt.want)
		}
	}
	if _, ok := Limit("").Value(); ok {
		t.Errorf("the empty Limit has a value")
	}
}

func TestResolveMetric(t *testing.T) {
	tests := []struct {
		in   string
		want ResolvedMetric
		bad  bool
	}{
		{in: "ttf", want: ResolvedMetric{Name: "ttf", Unit: UnitTime, Class: true, Live: true}},
		{in: "recovery", want: ResolvedMetric{Name: "recovery", Unit: UnitTime}},
		{in: "connect.p99", want: ResolvedMetric{Name: "latency", Unit: UnitTime, Latency: "connect", Stat: "p99", Quantile: 99}},
		{in: "op.p99.9", want: ResolvedMetric{Name: "latency", Unit: UnitTime, Latency: "op", Stat: "p99.9", Quantile: 99.9}},
		{in: "connect.p100", want: ResolvedMetric{Name: "latency", Unit: UnitTime, Latency: "connect", Stat: "p100", Quantile: 100}},
		{in: "connect.max", want: ResolvedMetric{Name: "latency", Unit: UnitTime, Latency: "connect", Stat: "max"}},
		{in: "ops.dropped", want: ResolvedMetric{Unit: UnitNumber, Path: "ops.dropped", Live: true}},
		{in: "half_open.completed", want: ResolvedMetric{Unit: UnitNumber, Path: "half_open.completed"}},
		{in: "connect.p0", bad: true},
		{in: "connect.p101", bad: true},
		{in: "connect.median", bad: true},
		{in: "Ops.OK", bad: true},
		{in: "prediction.after_ops", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := ResolveMetric(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ResolveMetric(%q) error = %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && got != tt.want {
			t.Errorf("ResolveMetric(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

const thresholdScenario = `name: th
kind: port-exhaustion
load: {model: open, rate: 10}
stop: {on_failure: true, after_failure: 1s}
thresholds:
  - metric: ttf
    class: eaddrnotavail
    min: 30s
  - metric: error_rate
    max: 1%
    abort: true
    delay: 10s
  - metric: half_open.completed
    min: 5
  - metric: recovery
    max: 2s
  - metric: dropped_rate
    max: 0.5
`

// TestThresholdsParse reads a valid list, keeps each metric's position,
// and survives the round trip through scenario.yaml (what a run records).
func TestThresholdsParse(t *testing.T) {
	sc, err := Parse("th.yaml", []byte(thresholdScenario))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(sc.Thresholds), 5; got != want {
		t.Fatalf("got %d thresholds, want %d", got, want)
	}
	if l, c := sc.Thresholds[1].Pos(); l != 9 || c != 13 {
		t.Errorf("thresholds[1] at %d:%d, want 9:13", l, c)
	}
	if got, want := sc.Thresholds[1].String(), "error_rate ≤ 1%"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := sc.Thresholds[0].String(), "ttf[eaddrnotavail] ≥ 30s"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	b, err := yaml.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("scenario.yaml", b)
	if err != nil {
		t.Fatalf("the recorded scenario does not parse: %v\n%s", err, b)
	}
	for i := range sc.Thresholds {
		a, b := sc.Thresholds[i], again.Thresholds[i]
		if a.Metric != b.Metric || a.Class != b.Class || a.Max != b.Max || a.Min != b.Min || a.Abort != b.Abort || a.Delay != b.Delay {
			t.Errorf("thresholds[%d]: got %+v after the round trip, want %+v", i, b, a)
		}
	}
}

// TestCheckThresholds reports a check's refusal at the metric's position.
func TestCheckThresholds(t *testing.T) {
	sc, err := Parse("th.yaml", []byte(thresholdScenario))
	if err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("no such field")
	err = sc.CheckThresholds("th.yaml", func(m string) error {
		if m == "half_open.completed" {
			return errBad
		}
		return nil
	})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("got %v, want one problem", err)
	}
	if got, want := ps.Error(), `th.yaml:13:13: thresholds[2].metric "half_open.completed": no such field`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := sc.CheckThresholds("th.yaml", func(string) error { return nil }); err != nil {
		t.Errorf("all accepted: got %v", err)
	}
}

// TestThresholdMetricsDocumented keeps the named metrics and the table of
// docs/scenarios.md in step.
func TestThresholdMetricsDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ThresholdMetrics {
		if !strings.Contains(string(b), fmt.Sprintf("| **%s** | %s |", m.Name, m.Unit)) {
			t.Errorf("docs/scenarios.md has no row | **%s** | %s |", m.Name, m.Unit)
		}
	}
}
