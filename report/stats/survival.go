package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"
)

// Sample is one group's right-censored times to failure: run i failed at
// Times[i] when Failed[i] is true, and survived to Times[i] (its bound,
// e.g. stop.duration) without failing when Failed[i] is false.
type Sample struct {
	Times  []float64
	Failed []bool
}

func (s Sample) check(name string) error {
	if len(s.Times) != len(s.Failed) {
		return fmt.Errorf("%s: %d times, %d failure flags: %w", name, len(s.Times), len(s.Failed), ErrLengthMismatch)
	}
	if len(s.Times) == 0 {
		return fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	if err := checkFinite(name+".Times", s.Times); err != nil {
		return err
	}
	for i, t := range s.Times {
		if t < 0 {
			return fmt.Errorf("%s.Times[%d] = %v: %w", name, i, t, ErrNegativeTime)
		}
	}
	return nil
}

// Step is one row of a Kaplan–Meier table, at a distinct observed time.
type Step struct {
	Time float64
	// AtRisk is the number still under observation just before Time.
	AtRisk int
	// Events failed at Time; Censored survived to Time and left.
	Events, Censored int
	// Survival is S(Time), the estimate just after Time.
	Survival float64
	// Variance is Greenwood's estimate of Var S(Time),
	// S² · Σ d/(n(n−d)) over the event times so far; NaN once S is 0
	// (as R reports it).
	Variance float64
}

// KaplanMeier is the product-limit estimate of a survival function.
type KaplanMeier struct {
	// N observations, Events of them failures.
	N, Events int
	// Steps has one row per distinct observed time, event or censoring,
	// in increasing order (R's survfit table with censored rows).
	Steps []Step
}

// NewKaplanMeier estimates S(t) from s. At a time where failures and
// censorings tie, the failures come first: the censored runs count as at
// risk at that time (the standard convention, as R's survfit).
func NewKaplanMeier(s Sample) (*KaplanMeier, error) {
	if err := s.check("sample"); err != nil {
		return nil, err
	}
	idx := sortedIndex(s.Times)
	km := &KaplanMeier{N: len(s.Times)}
	surv, gw := 1.0, 0.0
	atRisk := km.N
	for i := 0; i < len(idx); {
		t := s.Times[idx[i]]
		st := Step{Time: t, AtRisk: atRisk}
		for ; i < len(idx) && s.Times[idx[i]] == t; i++ {
			if s.Failed[idx[i]] {
				st.Events++
			} else {
				st.Censored++
			}
		}
		if d := st.Events; d > 0 {
			n := float64(atRisk)
			surv *= 1 - float64(d)/n
			if d < atRisk {
				gw += float64(d) / (n * (n - float64(d)))
			} else {
				gw = math.Inf(1)
			}
		}
		st.Survival = surv
		if surv > 0 {
			st.Variance = surv * surv * gw
		} else {
			st.Variance = math.NaN()
		}
		km.Events += st.Events
		atRisk -= st.Events + st.Censored
		km.Steps = append(km.Steps, st)
	}
	return km, nil
}

// sortedIndex returns the indices of t in increasing order of t.
func sortedIndex(t []float64) []int {
	idx := make([]int, len(t))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(t[a], t[b]) })
	return idx
}

// At returns S(t): 1 before the first event, then right-continuous steps
// (at an event time, the value just after it). Past the last observation
// it holds the last value; beyond a last censored run S is not estimable
// and that value is only a lower bound of what the data support. S(NaN)
// is NaN.
func (k *KaplanMeier) At(t float64) float64 {
	if math.IsNaN(t) {
		return math.NaN()
	}
	i := k.stepAt(t)
	if i < 0 {
		return 1
	}
	return k.Steps[i].Survival
}

// stepAt is the index of the last step with Time ≤ t, or −1.
func (k *KaplanMeier) stepAt(t float64) int {
	i, _ := slices.BinarySearchFunc(k.Steps, t, func(s Step, t float64) int {
		if s.Time <= t {
			return -1
		}
		return 1
	})
	return i - 1
}

// CI returns the pointwise confidence interval for S(t) at level, using
// the log-log transform of Greenwood's variance (Kalbfleisch & Prentice;
// R's survfit conf.type = "log-log", Stata's default):
//
//	S^exp(±z·σ/|log S|),  σ² = Σ d/(n(n−d)).
//
// ok is false where the transform is undefined: S = 1 (before any event)
// and S = 0 (R prints NA there).
func (k *KaplanMeier) CI(t, level float64) (lower, upper float64, ok bool, err error) {
	if err := checkLevel(level); err != nil {
		return 0, 0, false, err
	}
	i := k.stepAt(t)
	if i < 0 {
		return 0, 0, false, nil
	}
	lower, upper, ok = k.band(i, zFor(level))
	return lower, upper, ok, nil
}

func zFor(level float64) float64 { return distuv.UnitNormal.Quantile(1 - (1-level)/2) }

func (k *KaplanMeier) band(i int, z float64) (lower, upper float64, ok bool) {
	st := k.Steps[i]
	s := st.Survival
	if s <= 0 || s >= 1 {
		return 0, 0, false
	}
	sigma := math.Sqrt(st.Variance) / s / math.Abs(math.Log(s))
	return math.Pow(s, math.Exp(z*sigma)), math.Pow(s, math.Exp(-z*sigma)), true
}

// SurvivalTime is a time that an estimate may not have reached: the
// median survival of runs that mostly did not fail is "not reached", which
// is neither 0 nor +Inf. Read it with Value; the zero value is "not
// reached".
type SurvivalTime struct {
	t  float64
	ok bool
}

// ReachedAt returns the SurvivalTime t, reached.
func ReachedAt(t float64) SurvivalTime { return SurvivalTime{t, true} }

// Value returns the time and whether it was reached; t is 0 when not.
func (s SurvivalTime) Value() (t float64, reached bool) { return s.t, s.ok }

// Reached reports whether the time was reached within the data.
func (s SurvivalTime) Reached() bool { return s.ok }

// String is the time in the shortest decimal form, or "not reached".
func (s SurvivalTime) String() string {
	if !s.ok {
		return "not reached"
	}
	return strconv.FormatFloat(s.t, 'g', -1, 64)
}

// Median is a median survival time with its confidence interval.
type Median struct {
	Estimate, Lower, Upper SurvivalTime
	Level                  float64
}

// Median returns the median survival time: the first time S(t) ≤ ½ (when
// S is exactly ½ up to the next event time, the midpoint of the two, as
// for an ordinary median and as R's survfit does), with the
// Brookmeyer–Crowley interval at level: the times at which the lower and
// the upper log-log band (see CI) first reach ½. Any of the three is
// not reached when its curve stays above ½ over the data, e.g. when fewer
// than half the runs failed.
func (k *KaplanMeier) Median(level float64) (Median, error) {
	if err := checkLevel(level); err != nil {
		return Median{}, err
	}
	z := zFor(level)
	est := make([]float64, len(k.Steps))
	lo := make([]float64, len(k.Steps))
	hi := make([]float64, len(k.Steps))
	for i, st := range k.Steps {
		est[i] = st.Survival
		l, u, ok := k.band(i, z)
		switch {
		case ok:
		case st.Survival <= 0: // the bands are undefined at S = 0: no crossing there (R: NA)
			l, u = math.NaN(), math.NaN()
		default: // S = 1: nothing has failed yet
			l, u = 1, 1
		}
		lo[i], hi[i] = l, u
	}
	return Median{
		Estimate: k.firstBelowHalf(est),
		Lower:    k.firstBelowHalf(lo),
		Upper:    k.firstBelowHalf(hi),
		Level:    level,
	}, nil
}

// firstBelowHalf returns the first step time where curve ≤ ½ (NaN values
// never qualify); when the curve is ½ to within rounding there and drops
// at a later event time, the midpoint of the two times.
func (k *KaplanMeier) firstBelowHalf(curve []float64) SurvivalTime {
	const tol = 1.5e-8 // R: sqrt(.Machine$double.eps)
	for i, v := range curve {
		if !(v <= 0.5+tol) {
			continue
		}
		if math.Abs(v-0.5) <= tol {
			for j := i + 1; j < len(curve); j++ {
				if k.Steps[j].Events > 0 && curve[j] < v-tol {
					return ReachedAt((k.Steps[i].Time + k.Steps[j].Time) / 2)
				}
			}
		}
		return ReachedAt(k.Steps[i].Time)
	}
	return SurvivalTime{}
}
