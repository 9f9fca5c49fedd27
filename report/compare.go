package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

// CompareSide is one side of a comparison: a set of runs (one run, or the
// repetitions of one scenario), or a sweep with its runs.
type CompareSide struct {
	// Label names the side in the output (the directory given).
	Label string
	// Runs are the runs of a set (nil for a sweep).
	Runs []*schema.Summary
	// Sweep and Points are a sweep and its runs per point (Points[i][j]:
	// point i, repetition j+1; nil entries were not run).
	Sweep  *schema.SweepSummary
	Points [][]*schema.Summary
}

// Describe says what the side holds: "3 runs of port-exhaustion" or
// "sweep port-range: 4 points × 3 repetitions".
func (s CompareSide) Describe() string {
	if s.Sweep != nil {
		return fmt.Sprintf("sweep %s: %d points × %s", s.Sweep.Name, len(s.Sweep.Points), plural(s.Sweep.Repetitions, "repetition"))
	}
	names := scenarioNames(s.Runs)
	return fmt.Sprintf("%s of %s", plural(len(s.Runs), "run"), strings.Join(names, ", "))
}

func scenarioNames(runs []*schema.Summary) []string {
	var names []string
	for _, r := range runs {
		if r != nil && r.Scenario != nil && !slices.Contains(names, r.Scenario.Name) {
			names = append(names, r.Scenario.Name)
		}
	}
	return names
}

// MetricSpec is an extra metric to compare: a path to a number in
// summary.json and which way it improves.
type MetricSpec struct {
	Path string
	Dir  stats.Direction
}

// CompareOptions tune a comparison.
type CompareOptions struct {
	// Alpha is the significance level; 0 means 0.05.
	Alpha float64
	// Metrics are compared besides the built-in ones.
	Metrics []MetricSpec
}

// Comparison is the outcome of comparing NEW with BASE.
type Comparison struct {
	Base, New CompareSide
	Alpha     float64
	// Groups are the runs compared together: one group for two sets of
	// runs, one per matched point for two sweeps.
	Groups []CompareGroup
	// BaseTrend and NewTrend say, for sweeps, whether failure moves with
	// the setting on each side.
	BaseTrend, NewTrend string
	// Notes are what the reader must know (points matched by position,
	// different scenarios…).
	Notes []string
	// pairs are the matched points of two sweeps (BASE index, NEW index).
	pairs [][2]int
}

// CompareGroup is one set of rows: BASE runs against NEW runs.
type CompareGroup struct {
	// Name is "runs", or the matched points ("41000-41019 ↔ 41000-41009").
	Name     string
	BaseRuns int
	NewRuns  int
	Rows     []CompareRow
}

// CompareRow is one metric compared.
type CompareRow struct {
	// Metric names it as --fail-on does: ttf, ops_before_failure,
	// ok_per_sec, errors, errors[CLASS], connect.p99, a path.
	Metric string
	// Censored marks the time-to-failure rows (log-rank, Kaplan–Meier).
	Censored bool
	Dir      stats.Direction
	// Base and New summarise each side; Change the difference.
	Base, New, Change string
	// P is the test's p-value (NaN: no test), Test which test.
	P    float64
	Test string
	// Verdict is better, worse, no significant change or too few samples.
	Verdict stats.Verdict
	// Note says why there is no test, or what limits it.
	Note string
	// BaseValues and NewValues are the values per run (uncensored
	// metrics; for the censored ones, the runs that failed).
	BaseValues, NewValues []float64
	Unit                  string
}

// ErrCompare is returned (wrapped) when two sides cannot be compared.
var ErrCompare = errors.New("cannot compare")

// Compare compares NEW with BASE: for two sets of runs, every metric over
// the runs; for two sweeps, every metric per point (points matched by
// their values, or by position when the values differ and the counts
// agree) and each side's trend.
func Compare(base, next CompareSide, o CompareOptions) (*Comparison, error) {
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return nil, fmt.Errorf("alpha %v not in (0, 1): %w", o.Alpha, ErrCompare)
	}
	c := &Comparison{Base: base, New: next, Alpha: o.Alpha}
	switch {
	case (base.Sweep == nil) != (next.Sweep == nil):
		return nil, fmt.Errorf("BASE is %s and NEW is %s: compare runs with runs, a sweep with a sweep: %w", base.Describe(), next.Describe(), ErrCompare)
	case base.Sweep == nil:
		if len(base.Runs) == 0 || len(next.Runs) == 0 {
			return nil, fmt.Errorf("a side without runs: %w", ErrCompare)
		}
		bn, nn := scenarioNames(base.Runs), scenarioNames(next.Runs)
		if len(bn) > 1 || len(nn) > 1 {
			return nil, fmt.Errorf("a side holds runs of several scenarios (BASE: %s; NEW: %s); give one scenario's runs on each side: %w",
				strings.Join(bn, ", "), strings.Join(nn, ", "), ErrCompare)
		}
		if !slices.Equal(bn, nn) {
			c.Notes = append(c.Notes, fmt.Sprintf("different scenarios: BASE %s, NEW %s", strings.Join(bn, ", "), strings.Join(nn, ", ")))
		}
		c.Groups = []CompareGroup{compareRuns("runs", base.Runs, next.Runs, o)}
	default:
		pairs, note, err := matchPoints(base.Sweep, next.Sweep)
		if err != nil {
			return nil, err
		}
		if note != "" {
			c.Notes = append(c.Notes, note)
		}
		c.pairs = pairs
		for _, p := range pairs {
			name := PointLabel(base.Sweep, base.Sweep.Points[p[0]])
			if nl := PointLabel(next.Sweep, next.Sweep.Points[p[1]]); nl != name {
				name += " ↔ " + nl
			}
			c.Groups = append(c.Groups, compareRuns(name, at(base.Points, p[0]), at(next.Points, p[1]), o))
		}
		c.BaseTrend, _ = TrendText(base.Sweep, base.Points)
		c.NewTrend, _ = TrendText(next.Sweep, next.Points)
	}
	return c, nil
}

func at(pts [][]*schema.Summary, i int) []*schema.Summary {
	if i < len(pts) {
		return pts[i]
	}
	return nil
}

// matchPoints pairs the points of two sweeps: by their values when both
// have the same axes and values, else by position when they have as many
// points (a sweep of smaller ranges against one of larger ones).
func matchPoints(a, b *schema.SweepSummary) ([][2]int, string, error) {
	byValues := map[string]int{}
	for i, p := range b.Points {
		byValues[strings.Join(p.Values, "\x00")] = i
	}
	var pairs [][2]int
	if slices.Equal(a.Axes, b.Axes) {
		for i, p := range a.Points {
			if j, ok := byValues[strings.Join(p.Values, "\x00")]; ok {
				pairs = append(pairs, [2]int{i, j})
			}
		}
		if len(pairs) == len(a.Points) && len(pairs) == len(b.Points) {
			return pairs, "", nil
		}
	}
	if len(a.Points) != len(b.Points) {
		return nil, "", fmt.Errorf("BASE has %d points and NEW %d, with different values: there is no way to pair them: %w", len(a.Points), len(b.Points), ErrCompare)
	}
	pairs = pairs[:0]
	for i := range a.Points {
		pairs = append(pairs, [2]int{i, i})
	}
	return pairs, "the sweeps' points differ in their values: they are paired by position (the first with the first…)", nil
}

// metric is one uncensored metric: its name, direction, unit and how to
// read it from a run (ok false: the run has none).
type metric struct {
	name string
	dir  stats.Direction
	unit string
	of   func(*schema.Summary) (float64, bool)
}

// builtinMetrics are the uncensored metrics every comparison considers;
// a metric that neither side has is left out.
func builtinMetrics(base, next []*schema.Summary) []metric {
	ms := []metric{
		{"ok_per_sec", stats.HigherIsBetter, "/s", func(s *schema.Summary) (float64, bool) {
			if s.ElapsedSec <= 0 {
				return 0, false
			}
			return float64(s.Ops.OK) / s.ElapsedSec, true
		}},
		{"errors", stats.LowerIsBetter, "", func(s *schema.Summary) (float64, bool) { return float64(s.Ops.Failed), true }},
	}
	var classes []string
	open := false
	for _, rs := range [][]*schema.Summary{base, next} {
		for _, r := range rs {
			if r == nil {
				continue
			}
			for _, e := range r.Classes {
				if !slices.Contains(classes, string(e.Class)) {
					classes = append(classes, string(e.Class))
				}
			}
			if r.Scenario != nil && r.Scenario.Load.Model == "open" {
				open = true
			}
		}
	}
	slices.Sort(classes)
	for _, c := range classes {
		ms = append(ms, metric{"errors[" + c + "]", stats.LowerIsBetter, "", func(s *schema.Summary) (float64, bool) {
			n := 0.0
			for _, e := range s.Classes {
				if string(e.Class) == c {
					n += float64(e.Count)
				}
			}
			return n, true
		}})
	}
	if open {
		ms = append(ms, metric{"dropped", stats.LowerIsBetter, "", func(s *schema.Summary) (float64, bool) { return float64(s.Ops.Dropped), true }})
	}
	for _, l := range []string{"connect", "op"} {
		for _, st := range []string{"p50", "p99"} {
			ms = append(ms, metric{l + "." + st, stats.LowerIsBetter, "µs", func(s *schema.Summary) (float64, bool) {
				lat := s.Latency[l]
				if lat.Count == 0 {
					return 0, false
				}
				if st == "p50" {
					return float64(lat.P50), true
				}
				return float64(lat.P99), true
			}})
		}
	}
	for _, k := range KindMetrics {
		ms = append(ms, metric{k.Path, k.Dir, "", func(s *schema.Summary) (float64, bool) { return schema.ColumnValue(s, k.Path) }})
	}
	return ms
}

// KindMetrics are the kinds' headline numbers that a comparison
// considers when the runs have them.
var KindMetrics = []MetricSpec{
	{"dead_peer.peak_queued_total", stats.LowerIsBetter},
	{"dead_peer.mean_queued_total", stats.LowerIsBetter},
	{"half_open.completed", stats.HigherIsBetter},
	{"half_open.pending_peak", stats.LowerIsBetter},
	{"slow_reader.server_queued.peak", stats.LowerIsBetter},
	{"slow_reader.server_closed", stats.LowerIsBetter},
	{"udp_push.enobufs", stats.LowerIsBetter},
	{"udp_push.sent", stats.HigherIsBetter},
	{"churn.connects_per_sec", stats.HigherIsBetter},
}

// MetricNames lists the names --fail-on accepts besides "any" and the
// extra metrics: the censored ones, then the built-in uncensored ones
// (errors[CLASS] matches by its prefix errors).
func MetricNames() []string {
	names := []string{"ttf", "ops_before_failure", "ok_per_sec", "errors", "dropped"}
	for _, l := range []string{"connect", "op"} {
		for _, st := range []string{"p50", "p99"} {
			names = append(names, l+"."+st)
		}
	}
	for _, k := range KindMetrics {
		names = append(names, k.Path)
	}
	return names
}

// compareRuns compares two sets of runs on every metric.
func compareRuns(name string, base, next []*schema.Summary, o CompareOptions) CompareGroup {
	base, next = nonNil(base), nonNil(next)
	g := CompareGroup{Name: name, BaseRuns: len(base), NewRuns: len(next)}
	if len(base) == 0 || len(next) == 0 {
		return g
	}
	tooFew := stats.MinAchievableP(len(base), len(next)) > o.Alpha
	g.Rows = append(g.Rows,
		censoredRow("ttf", SurvivalSample(base), SurvivalSample(next), UnitSeconds, tooFew, o.Alpha),
		censoredRow("ops_before_failure", opsSample(base), opsSample(next), "", tooFew, o.Alpha))
	ms := builtinMetrics(base, next)
	for _, m := range o.Metrics {
		ms = append(ms, metric{m.Path, m.Dir, "", func(s *schema.Summary) (float64, bool) { return schema.ColumnValue(s, m.Path) }})
	}
	for _, m := range ms {
		bv, nv := values(base, m.of), values(next, m.of)
		if len(bv) == 0 && len(nv) == 0 {
			continue
		}
		g.Rows = append(g.Rows, uncensoredRow(m, bv, nv, o.Alpha))
	}
	return g
}

func nonNil(rs []*schema.Summary) []*schema.Summary {
	var out []*schema.Summary
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

func values(rs []*schema.Summary, of func(*schema.Summary) (float64, bool)) []float64 {
	var out []float64
	for _, r := range rs {
		if v, ok := of(r); ok && finite(v) {
			out = append(out, v)
		}
	}
	return out
}

// censoredRow compares right-censored samples (times, or operations,
// before failure): each side's Kaplan–Meier median and the log-rank test.
// The change is NEW's expected minus observed failures: positive when NEW
// fails later than BASE would have.
func censoredRow(name string, b, n stats.Sample, unit string, tooFew bool, alpha float64) CompareRow {
	r := CompareRow{Metric: name, Censored: true, Dir: stats.HigherIsBetter, P: math.NaN(), Test: "log-rank", Unit: unit}
	show := func(v float64) string {
		if unit == UnitSeconds {
			return secs(v)
		}
		return num(v)
	}
	side := func(s stats.Sample) string {
		km, err := stats.NewKaplanMeier(s)
		if err != nil {
			return "-"
		}
		m, _ := km.Median(1 - alpha)
		med := "not reached"
		if t, ok := m.Estimate.Value(); ok {
			med = show(t)
		}
		txt := fmt.Sprintf("median %s (%d/%d failed)", med, km.Events, km.N)
		if km.Events < km.N {
			longest := 0.0
			for i, t := range s.Times {
				if !s.Failed[i] {
					longest = math.Max(longest, t)
				}
			}
			txt += ", others ≥ " + show(longest)
		}
		return txt
	}
	r.Base, r.New = side(b), side(n)
	for i, t := range b.Times {
		if b.Failed[i] {
			r.BaseValues = append(r.BaseValues, t)
		}
	}
	for i, t := range n.Times {
		if n.Failed[i] {
			r.NewValues = append(r.NewValues, t)
		}
	}
	lr, err := stats.LogRank([]stats.Sample{b, n})
	switch {
	case errors.Is(err, stats.ErrNoEvents):
		r.Verdict, r.Change = stats.NoChange, "none failed on either side"
		r.Note = "every run is censored: nothing to test"
		return r
	case err != nil:
		r.Verdict, r.Note, r.Change = stats.NoChange, "no test: "+err.Error(), "no test (every failure at one value)"
		return r
	}
	r.P = lr.P
	change := lr.Expected[1] - lr.Observed[1]
	r.Change = fmt.Sprintf("NEW failed %g, %.2f expected", lr.Observed[1], lr.Expected[1])
	switch {
	case change > 0:
		r.Change = "later: " + r.Change
	case change < 0:
		r.Change = "sooner: " + r.Change
	}
	r.Verdict, _ = stats.Decide(stats.HigherIsBetter, lr.P, alpha, change, tooFew)
	if tooFew {
		r.Note = fmt.Sprintf("too few samples: %d vs %d runs (with a rank test the smallest possible p is %s; at least 4 a side reach α = 0.05)",
			len(b.Times), len(n.Times), pNum(stats.MinAchievableP(len(b.Times), len(n.Times))))
	}
	return r
}

// uncensoredRow compares one value per run: medians, the Hodges–Lehmann
// shift with its interval, and the Mann–Whitney test.
func uncensoredRow(m metric, bv, nv []float64, alpha float64) CompareRow {
	r := CompareRow{Metric: m.name, Dir: m.dir, P: math.NaN(), Test: "Mann–Whitney U", BaseValues: bv, NewValues: nv, Unit: m.unit}
	side := func(v []float64) string {
		if len(v) == 0 {
			return "-"
		}
		st := schema.StatOf(v)
		if st.N == 1 {
			return fmtUnit(st.Median, m.unit)
		}
		return fmt.Sprintf("%s [%s–%s] (%d)", fmtUnit(st.Median, m.unit), fmtUnit(st.Min, m.unit), fmtUnit(st.Max, m.unit), st.N)
	}
	r.Base, r.New = side(bv), side(nv)
	if len(bv) == 0 || len(nv) == 0 {
		r.Verdict, r.Note = stats.NoChange, "only one side has it"
		return r
	}
	bm, nm := schema.StatOf(bv).Median, schema.StatOf(nv).Median
	r.Change = fmtChange(bm, nm, m.unit)
	mw, err := stats.MannWhitney(bv, nv, stats.TwoSided)
	if err != nil {
		r.Verdict, r.Note = stats.NoChange, "no test: "+err.Error()
		return r
	}
	r.P = mw.P
	r.Test += " (" + mw.Method.String() + ")"
	shift, err := stats.HodgesLehmann(bv, nv, 1-alpha)
	if err == nil && len(bv) > 1 && len(nv) > 1 {
		r.Change += fmt.Sprintf("; shift %s [%s, %s]", signed(shift.Estimate, m.unit), signed(shift.Lower, m.unit), signed(shift.Upper, m.unit))
	}
	est := nm - bm
	if err == nil {
		est = shift.Estimate
	}
	tooFew := stats.MinAchievableP(len(bv), len(nv)) > alpha
	r.Verdict, _ = stats.Decide(m.dir, mw.P, alpha, est, tooFew)
	if tooFew {
		r.Note = fmt.Sprintf("too few samples: %d vs %d runs, the smallest possible p is %s", len(bv), len(nv), pNum(stats.MinAchievableP(len(bv), len(nv))))
	}
	return r
}

func pNum(p float64) string { return strings.TrimPrefix(strings.TrimPrefix(pText(p), "p = "), "p ") }

func fmtUnit(v float64, unit string) string {
	switch unit {
	case UnitSeconds:
		return secs(v)
	case "µs":
		return us(int64(math.Round(v)))
	case "/s":
		if math.Abs(v) >= 1000 {
			return strconv.FormatFloat(math.Round(v), 'f', -1, 64) + "/s"
		}
		return strconv.FormatFloat(v, 'g', 4, 64) + "/s"
	}
	return num(v)
}

func signed(v float64, unit string) string {
	if v > 0 {
		return "+" + fmtUnit(v, unit)
	}
	if v < 0 {
		return "-" + fmtUnit(-v, unit)
	}
	return "0"
}

// fmtChange writes the change of the medians: "+12.5%", "0 → 3".
func fmtChange(b, n float64, unit string) string {
	if b == 0 {
		if n == 0 {
			return "no change"
		}
		return fmtUnit(b, unit) + " → " + fmtUnit(n, unit)
	}
	return fmt.Sprintf("%+.1f%%", (n-b)/math.Abs(b)*100)
}

// Regressions lists the rows whose verdict is worse and whose metric is
// one of failOn ("any" matches every metric; errors matches
// errors[CLASS]), as "metric at group".
func (c *Comparison) Regressions(failOn []string) []string {
	var out []string
	for _, g := range c.Groups {
		for _, r := range g.Rows {
			if r.Verdict != stats.Worse || !matchesFailOn(r.Metric, failOn) {
				continue
			}
			out = append(out, r.Metric+" at "+g.Name)
		}
	}
	return out
}

func matchesFailOn(metric string, failOn []string) bool {
	base, _, _ := strings.Cut(metric, "[")
	for _, f := range failOn {
		if f == "any" || f == metric || f == base {
			return true
		}
	}
	return false
}

// Counts tallies the verdicts of every row.
func (c *Comparison) Counts() map[stats.Verdict]int {
	out := map[stats.Verdict]int{}
	for _, g := range c.Groups {
		for _, r := range g.Rows {
			out[r.Verdict]++
		}
	}
	return out
}
