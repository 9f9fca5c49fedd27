package stats

import (
	"fmt"
	"math"
)

// Direction says which way a metric improves.
type Direction int

const (
	// HigherIsBetter: throughput, time to failure, successful connects.
	HigherIsBetter Direction = iota + 1
	// LowerIsBetter: latency, error counts, dropped packets.
	LowerIsBetter
)

// Verdict is the outcome of comparing a metric of NEW runs with BASE runs.
type Verdict int

const (
	// NoChange: the test found no significant difference at α (which is
	// not proof that there is none).
	NoChange Verdict = iota
	// Better: significant at α, in the metric's good direction.
	Better
	// Worse: significant at α, in the metric's bad direction.
	Worse
	// TooFewSamples: the samples are too small for the test ever to
	// reach α (see MinAchievableP); rerun with more runs to decide.
	TooFewSamples
)

// String returns "better", "worse", "no significant change" or
// "too few samples".
func (v Verdict) String() string {
	switch v {
	case NoChange:
		return "no significant change"
	case Better:
		return "better"
	case Worse:
		return "worse"
	case TooFewSamples:
		return "too few samples"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Decide turns a two-sided test into a Verdict. change is the estimated
// change of NEW against BASE, positive when NEW is larger (the
// HodgesLehmann Estimate; for a time to failure, E − O of the NEW group
// in LogRank, positive when NEW fails later). tooFew wins over everything
// (e.g. MinAchievableP(n, m) > alpha); then p > alpha, a NaN p, or a zero
// change gives NoChange; otherwise the sign of change and dir decide
// between Better and Worse. It returns ErrBadArgument for an alpha
// outside (0, 1) or an unknown dir.
func Decide(dir Direction, p, alpha, change float64, tooFew bool) (Verdict, error) {
	if !(alpha > 0 && alpha < 1) {
		return NoChange, fmt.Errorf("alpha %v not in (0, 1): %w", alpha, ErrBadArgument)
	}
	if dir != HigherIsBetter && dir != LowerIsBetter {
		return NoChange, fmt.Errorf("direction %d: %w", int(dir), ErrBadArgument)
	}
	switch {
	case tooFew:
		return TooFewSamples, nil
	case math.IsNaN(p) || p > alpha || change == 0 || math.IsNaN(change):
		return NoChange, nil
	case (change > 0) == (dir == HigherIsBetter):
		return Better, nil
	default:
		return Worse, nil
	}
}
