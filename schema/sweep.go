package schema

import (
	"slices"
)

// SweepSummary is a sweep's result: per point (one combination of axis
// values), time-to-failure and operations before failure over its
// repetitions. It is written as the sweep's summary.json and summary.csv.
type SweepSummary struct {
	Name        string   `json:"name"`
	Axes        []string `json:"axes"`
	Repetitions int      `json:"repetitions"`
	// Columns are the sweep file's extra columns (paths into each run's
	// summary.json); each point has a ColumnStat per column.
	Columns []string     `json:"columns,omitempty"`
	Points  []SweepPoint `json:"points"`
	// Notes says what makes the runs less than independent (e.g. runs on
	// the host that share its TIME_WAITs).
	Notes []string `json:"notes,omitempty"`
}

// SweepPoint is one point of a sweep.
type SweepPoint struct {
	Index int `json:"index"`
	// Values holds each axis's value, in axis order.
	Values []string `json:"values"`
	// Runs counts the repetitions that ran to their end (a bound, the
	// failure); Failures the repetitions that hit a failure class (also
	// one interrupted after its failure: the failure is real). Interrupted
	// counts those stopped before their end without a failure, or rebuilt
	// from a dead run's timeline: they neither failed nor survived the
	// bound, so they are in neither count and no time-to-failure.
	Runs        int `json:"runs"`
	Failures    int `json:"failures"`
	Interrupted int `json:"interrupted,omitempty"`
	// TTF is the time-to-failure in seconds over the repetitions that
	// failed (nil: none did).
	TTF *Stat `json:"ttf_sec"`
	// OpsBefore is the operations that succeeded before the failure.
	OpsBefore *Stat `json:"ops_before_failure"`
	// Class, Phase and Code are the failure seen most often (ties: the
	// earliest repetition's); Code is the raw errno or WSA code.
	Class string `json:"class,omitempty"`
	Phase string `json:"phase,omitempty"`
	Code  int    `json:"code,omitempty"`
	// Columns holds the sweep's extra columns, in order.
	Columns []ColumnStat `json:"columns,omitempty"`
	// Dirs are the repetitions' run directories, relative to the sweep's.
	Dirs []string `json:"runs_dirs"`
}

// Stat is the median, minimum and maximum of a set of values.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// StatOf returns the Stat of xs, nil when xs is empty. The median of an
// even count is the mean of the middle two.
func StatOf(xs []float64) *Stat {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &Stat{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// SweepPointOf summarises the runs of one point (nil entries: not run).
func SweepPointOf(index int, values []string, runs []*Summary, dirs []string) SweepPoint {
	p := SweepPoint{Index: index, Values: values, Dirs: dirs}
	var ttf, ops []float64
	type key struct {
		class, phase string
		code         int
	}
	count := map[key]int{}
	var order []key
	for _, s := range runs {
		if s == nil {
			continue
		}
		f := s.TimeToFailure
		if s.Status == StatusInterrupted || s.Status == StatusPartial {
			if f == nil {
				p.Interrupted++
				continue
			}
		} else {
			p.Runs++
		}
		if f == nil {
			continue
		}
		p.Failures++
		ttf = append(ttf, f.AtSec)
		ops = append(ops, float64(f.OKBefore))
		k := key{string(f.Class), string(f.Phase), f.Code}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	p.TTF, p.OpsBefore = StatOf(ttf), StatOf(ops)
	if len(order) > 0 {
		best := order[0]
		for _, k := range order[1:] {
			if count[k] > count[best] {
				best = k
			}
		}
		p.Class, p.Phase, p.Code = best.class, best.phase, best.code
	}
	return p
}
