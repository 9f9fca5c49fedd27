package stats

import (
	"errors"
	"math"
	"testing"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		dir     Direction
		p       float64
		alpha   float64
		change  float64
		tooFew  bool
		want    Verdict
		wantStr string
	}{
		{"throughput up, significant", HigherIsBetter, 0.01, 0.05, 120, false, Better, "better"},
		{"throughput down, significant", HigherIsBetter, 0.01, 0.05, -120, false, Worse, "worse"},
		{"latency up, significant", LowerIsBetter, 0.001, 0.05, 3.5, false, Worse, "worse"},
		{"latency down, significant", LowerIsBetter, 0.001, 0.05, -3.5, false, Better, "better"},
		{"not significant", HigherIsBetter, 0.2, 0.05, 120, false, NoChange, "no significant change"},
		{"p equal to alpha is significant", HigherIsBetter, 0.05, 0.05, 1, false, Better, "better"},
		{"significant but no shift", HigherIsBetter, 0.01, 0.05, 0, false, NoChange, "no significant change"},
		{"NaN p", LowerIsBetter, math.NaN(), 0.05, 1, false, NoChange, "no significant change"},
		{"NaN change", LowerIsBetter, 0.01, 0.05, math.NaN(), false, NoChange, "no significant change"},
		// 3 vs 3 runs: the smallest p is 0.1 > 0.05, whatever the data.
		{"too few samples", HigherIsBetter, 0.1, 0.05, 120, MinAchievableP(3, 3) > 0.05, TooFewSamples, "too few samples"},
		{"too few wins over significance", LowerIsBetter, 0.001, 0.05, 1, true, TooFewSamples, "too few samples"},
	}
	for _, tt := range tests {
		got, err := Decide(tt.dir, tt.p, tt.alpha, tt.change, tt.tooFew)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want || got.String() != tt.wantStr {
			t.Errorf("%s: got %v (%q), want %v (%q)", tt.name, int(got), got, int(tt.want), tt.wantStr)
		}
	}
	for _, tt := range []struct {
		dir   Direction
		alpha float64
	}{{HigherIsBetter, 0}, {HigherIsBetter, 1}, {LowerIsBetter, math.NaN()}, {Direction(0), 0.05}, {Direction(9), 0.05}} {
		if _, err := Decide(tt.dir, 0.01, tt.alpha, 1, false); !errors.Is(err, ErrBadArgument) {
			t.Errorf("Decide(dir %d, alpha %v): got error %v, want ErrBadArgument", tt.dir, tt.alpha, err)
		}
	}
	if s := Verdict(42).String(); s != "Verdict(42)" {
		t.Errorf("unknown verdict: got %q", s)
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{TwoSided.String(), "two-sided"},
		{Greater.String(), "greater"},
		{Less.String(), "less"},
		{Alternative(5).String(), "Alternative(5)"},
		{Exact.String(), "exact"},
		{Normal.String(), "normal approximation"},
		{Degenerate.String(), "degenerate (all values equal)"},
		{Method(0).String(), "Method(0)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
