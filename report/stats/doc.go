// Package stats holds the statistics behind `nobufs compare`: is a metric
// of the NEW runs better, worse or unchanged against the BASE runs, and
// does the time to failure move?
//
// Everything here is a pure function of its arguments: no I/O, no state,
// no goroutines. Two-sample functions take (x, y) = (base, new) and report
// the change of y against x, so a positive shift or statistic always means
// "new is larger".
//
//   - Metrics (rates, counts, percentiles), one value per run: MannWhitney
//     (exact for small samples without ties, normal approximation with tie
//     and continuity correction otherwise), MinAchievableP to tell when a
//     sample is too small to ever reach α, and HodgesLehmann for the size
//     of the shift with a distribution-free confidence interval.
//   - Time to failure, right-censored (a run that did not fail within its
//     bound survived to the bound): NewKaplanMeier for S(t) and the median
//     with a Brookmeyer–Crowley interval, LogRank for k ≥ 2 groups and
//     LogRankTrend for ordered groups (a sweep over a setting).
//   - Uncensored values over ordered groups: JonckheereTerpstra.
//   - Timelines: LTTB downsamples a series for plotting.
//   - Decide turns a test into a Verdict (Better, Worse, NoChange,
//     TooFewSamples).
//
// The tests check every statistic against published worked examples (R
// output on documented data sets, textbook examples) and name their
// sources; LTTB and Decide are checked by their properties.
package stats

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned by this package, to be checked with errors.Is. The
// returned errors wrap them with the offending position or value.
var (
	// ErrEmpty: a sample (or a group) has no observations.
	ErrEmpty = errors.New("stats: empty sample")
	// ErrNotFinite: an input value is NaN or infinite.
	ErrNotFinite = errors.New("stats: value is NaN or infinite")
	// ErrNegativeTime: a survival time is negative.
	ErrNegativeTime = errors.New("stats: negative time")
	// ErrLengthMismatch: parallel slices (times and flags, x and y,
	// groups and scores) differ in length.
	ErrLengthMismatch = errors.New("stats: lengths differ")
	// ErrBadArgument: a parameter is out of its range (a confidence
	// level outside (0, 1), fewer than two groups, a threshold < 2…).
	ErrBadArgument = errors.New("stats: bad argument")
	// ErrNoTest: the data admit no test, e.g. no group other than one
	// has anybody at risk when the events happen.
	ErrNoTest = errors.New("stats: no test possible on these data")
	// ErrNoEvents: every observation is censored, so a survival test has
	// nothing to compare. It wraps ErrNoTest.
	ErrNoEvents = fmt.Errorf("stats: no events, every observation is censored: %w", ErrNoTest)
)

// Alternative is the alternative hypothesis of a test, stated for y
// (new) against x (base), or for later groups against earlier ones.
type Alternative int

const (
	// TwoSided: y differs from x in either direction.
	TwoSided Alternative = iota
	// Greater: y tends to be larger than x (later groups larger).
	Greater
	// Less: y tends to be smaller than x (later groups smaller).
	Less
)

// String returns "two-sided", "greater" or "less".
func (a Alternative) String() string {
	switch a {
	case TwoSided:
		return "two-sided"
	case Greater:
		return "greater"
	case Less:
		return "less"
	}
	return fmt.Sprintf("Alternative(%d)", int(a))
}

func (a Alternative) valid() error {
	if a < TwoSided || a > Less {
		return fmt.Errorf("alternative %d: %w", int(a), ErrBadArgument)
	}
	return nil
}

// Method says how a p-value was computed.
type Method int

const (
	// Exact: from the exact null distribution (small samples, no ties).
	Exact Method = iota + 1
	// Normal: from the normal approximation (with tie correction).
	Normal
	// Degenerate: every observation is equal; the test has no
	// information and reports p = 1.
	Degenerate
)

// String returns "exact", "normal approximation" or "degenerate".
func (m Method) String() string {
	switch m {
	case Exact:
		return "exact"
	case Normal:
		return "normal approximation"
	case Degenerate:
		return "degenerate (all values equal)"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// checkFinite refuses NaN and ±Inf; name and i locate the value.
func checkFinite(name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] = %v: %w", name, i, x, ErrNotFinite)
		}
	}
	return nil
}

func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("confidence level %v not in (0, 1): %w", level, ErrBadArgument)
	}
	return nil
}
