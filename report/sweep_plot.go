package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

// sweepAxis is where a sweep's points go on the x axis.
type sweepAxis struct {
	x      []float64
	scale  string
	ticks  []string
	label  string
	labels []string // each point's label, for legends
	// numeric says x holds the settings' values (one numeric axis).
	numeric bool
}

// shortAxis names an axis path by its last part (ip_local_port_range).
func shortAxis(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// PointLabel names a sweep point by its values: "1025 5000", or
// "sndbuf=8192, rate=1mbit" with several axes.
func PointLabel(sw *schema.SweepSummary, p schema.SweepPoint) string {
	if len(p.Values) == 1 {
		return p.Values[0]
	}
	parts := make([]string, len(p.Values))
	for i, v := range p.Values {
		name := fmt.Sprint(i)
		if i < len(sw.Axes) {
			name = shortAxis(sw.Axes[i])
		}
		parts[i] = name + "=" + v
	}
	return strings.Join(parts, ", ")
}

// axisOf places the points: at their values when the sweep has one axis
// whose values are all numbers (log when they span two decades or more),
// else at 0, 1, 2… labelled with the values.
func axisOf(sw *schema.SweepSummary) sweepAxis {
	a := sweepAxis{label: strings.Join(sw.Axes, " × ")}
	for _, p := range sw.Points {
		a.labels = append(a.labels, PointLabel(sw, p))
	}
	if len(sw.Axes) == 1 && len(sw.Points) > 1 {
		xs := make([]float64, 0, len(sw.Points))
		for _, p := range sw.Points {
			v, err := strconv.ParseFloat(strings.TrimSpace(p.Values[0]), 64)
			if err != nil || !finite(v) {
				xs = nil
				break
			}
			xs = append(xs, v)
		}
		if xs != nil {
			a.x, a.scale, a.numeric = xs, ScaleLinear, true
			lo, hi := slices.Min(xs), slices.Max(xs)
			if lo > 0 && hi/lo >= 100 {
				a.scale = ScaleLog
			}
			return a
		}
	}
	a.scale, a.ticks = ScaleCategory, a.labels
	for i := range sw.Points {
		a.x = append(a.x, float64(i))
	}
	return a
}

// runTime is a repetition's time to failure, or its length when it did
// not fail (censored).
func runTime(s *schema.Summary) (t float64, failed bool) {
	if f := s.TimeToFailure; f != nil {
		return f.AtSec, true
	}
	return s.ElapsedSec, false
}

// SurvivalSample is a point's repetitions as right-censored times to
// failure: a run that did not fail survived to its length. Nil entries
// (not run) are left out.
func SurvivalSample(runs []*schema.Summary) stats.Sample {
	var s stats.Sample
	for _, r := range runs {
		if r == nil {
			continue
		}
		t, failed := runTime(r)
		s.Times = append(s.Times, t)
		s.Failed = append(s.Failed, failed)
	}
	return s
}

// opsSample is the same for the operations before failure: a run that
// did not fail had its successful operations without failing.
func opsSample(runs []*schema.Summary) stats.Sample {
	var s stats.Sample
	for _, r := range runs {
		if r == nil {
			continue
		}
		if f := r.TimeToFailure; f != nil {
			s.Times, s.Failed = append(s.Times, float64(f.OKBefore)), append(s.Failed, true)
		} else {
			s.Times, s.Failed = append(s.Times, float64(r.Ops.OK)), append(s.Failed, false)
		}
	}
	return s
}

// failurePanel draws, per failure class, the median over the repetitions
// that failed with it, with min–max whiskers, and the repetitions that
// did not fail as open markers at their bound, labelled.
func failurePanel(sw *schema.SweepSummary, runs [][]*schema.Summary, ax sweepAxis, what string, of func([]*schema.Summary) stats.Sample, unit string) Panel {
	p := Panel{XLabel: ax.label, XScale: ax.scale, YScale: ScaleLinear, Ticks: ax.ticks, YUnit: unit}
	classSeries := map[string]*Series{}
	var classes []string
	censored := Series{Label: "no failure within the bound (open: at the bound)", Kind: SeriesOpen, Color: 7}
	var ys []float64
	for i := range sw.Points {
		var rs []*schema.Summary
		if i < len(runs) {
			rs = runs[i]
		}
		smp := of(rs)
		byClass := map[string][]float64{}
		var bound float64
		nCens, n := 0, 0
		j := 0
		for _, r := range rs {
			if r == nil {
				continue
			}
			n++
			if smp.Failed[j] {
				c := string(r.TimeToFailure.Class)
				byClass[c] = append(byClass[c], smp.Times[j])
			} else {
				nCens++
				bound = math.Max(bound, smp.Times[j])
			}
			j++
		}
		for c, xs := range byClass {
			s := classSeries[c]
			if s == nil {
				s = &Series{Label: c, Kind: SeriesPoints, Color: len(classSeries)}
				classSeries[c] = s
				classes = append(classes, c)
			}
			st := schema.StatOf(xs)
			s.X, s.Y = append(s.X, ax.x[i]), append(s.Y, st.Median)
			s.YLow, s.YHigh = append(s.YLow, st.Min), append(s.YHigh, st.Max)
			ys = append(ys, st.Min, st.Max)
		}
		if nCens > 0 {
			censored.X, censored.Y = append(censored.X, ax.x[i]), append(censored.Y, bound)
			by := secsLabel(bound)
			if unit != UnitSeconds {
				by = strconv.FormatFloat(bound, 'f', -1, 64) + " ok"
			}
			censored.Notes = append(censored.Notes, fmt.Sprintf("%d/%d none by %s", nCens, n, by))
			ys = append(ys, bound)
		}
	}
	slices.Sort(classes)
	for _, c := range classes {
		p.Series = append(p.Series, *classSeries[c])
	}
	if len(censored.X) > 0 {
		p.Series = append(p.Series, censored)
	}
	var pos []float64
	for _, y := range ys {
		if y > 0 {
			pos = append(pos, y)
		}
	}
	if len(pos) > 1 && slices.Max(pos)/slices.Min(pos) >= 100 && len(pos) == len(ys) {
		p.YScale = ScaleLog
	}
	p.Title = what + " against the setting (median, min–max over repetitions)"
	p.Legend = legendSide(p.Series)
	return p
}

// legendSide puts the legend in the top corner over the lower values:
// top left when the values rise to the right (the usual sweep), else top
// right.
func legendSide(ss []Series) string {
	var xs, ys []float64
	for _, s := range ss {
		xs, ys = append(xs, s.X...), append(ys, s.Y...)
	}
	if len(xs) < 2 {
		return ""
	}
	mid := (slices.Min(xs) + slices.Max(xs)) / 2
	var left, right float64
	for i, x := range xs {
		if x <= mid {
			left = math.Max(left, ys[i])
		} else {
			right = math.Max(right, ys[i])
		}
	}
	if right > left {
		return "top-left"
	}
	return ""
}

// SweepFigure is the data of a sweep's plot: the time to failure against
// the setting — the median over the repetitions with min–max whiskers,
// one series per failure class, the repetitions that never failed within
// their bound drawn as open markers at the bound and labelled (never as
// zero), a log axis where the values span two decades; then the
// operations that succeeded before the failure, the same way; then each
// of the sweep's columns.
func SweepFigure(sw *schema.SweepSummary, runs [][]*schema.Summary) Figure {
	ax := axisOf(sw)
	t := failurePanel(sw, runs, ax, "time to failure", SurvivalSample, UnitSeconds)
	t.YLabel = "time to failure"
	o := failurePanel(sw, runs, ax, "operations before failure", opsSample, "")
	o.YLabel = "successful operations"
	fig := Figure{Name: "sweep", Title: sweepTitle(sw, "time to failure against the setting"), Panels: []Panel{t, o},
		Caption: "Each point is the median over the repetitions that failed with that class, the whiskers their minimum and maximum; an open circle stands for the repetitions that did not fail, at the longest bound they ran to — they are censored, not zero."}
	for ci, col := range sw.Columns {
		p := Panel{Title: col + " against the setting (median, min–max)", XLabel: ax.label, YLabel: col, XScale: ax.scale, YScale: ScaleLinear, Ticks: ax.ticks}
		s := Series{Label: col, Kind: SeriesPoints, Color: ci}
		for i, pt := range sw.Points {
			if ci >= len(pt.Columns) || pt.Columns[ci].Stat == nil {
				continue
			}
			st := pt.Columns[ci].Stat
			s.X, s.Y = append(s.X, ax.x[i]), append(s.Y, st.Median)
			s.YLow, s.YHigh = append(s.YLow, st.Min), append(s.YHigh, st.Max)
		}
		if len(s.X) == 0 {
			continue
		}
		if strings.Contains(col, "queued") || strings.Contains(col, "bytes") {
			p.YUnit = UnitBytes
		}
		p.Series = []Series{s}
		fig.Panels = append(fig.Panels, p)
	}
	return fig
}

func sweepTitle(sw *schema.SweepSummary, what string) string {
	return fmt.Sprintf("sweep %s — %s\n%s: %s (%s each)", sw.Name, what, strings.Join(sw.Axes, " × "),
		strings.Join(axisOf(sw).labels, " | "), plural(sw.Repetitions, "repetition"))
}

// SurvivalFigure is the data of a sweep's survival plot: per setting,
// the Kaplan–Meier estimate of the fraction of runs still going (not yet
// failed) against time, with a cross where a run ended without failing —
// the honest picture of time to failure when some runs never fail. The
// legend gives each setting's median (or "not reached").
func SurvivalFigure(sw *schema.SweepSummary, runs [][]*schema.Summary) Figure {
	ax := axisOf(sw)
	p := Panel{Title: "still running (not yet failed), Kaplan–Meier estimate", XLabel: "time since start", YLabel: "fraction of runs",
		XScale: ScaleLinear, YScale: ScaleLinear, XUnit: UnitSeconds, Legend: "bottom-left"}
	for i := range sw.Points {
		if i >= len(runs) {
			break
		}
		smp := SurvivalSample(runs[i])
		if len(smp.Times) == 0 {
			continue
		}
		km, err := stats.NewKaplanMeier(smp)
		if err != nil {
			continue
		}
		med, _ := km.Median(0.95)
		curve := Series{Kind: SeriesStep, X: []float64{0}, Y: []float64{1}, Color: i}
		cens := Series{Kind: SeriesCensor, Color: i}
		for _, st := range km.Steps {
			curve.X, curve.Y = append(curve.X, st.Time), append(curve.Y, st.Survival)
			if st.Censored > 0 {
				cens.X, cens.Y = append(cens.X, st.Time), append(cens.Y, st.Survival)
			}
		}
		m := "not reached"
		if t, ok := med.Estimate.Value(); ok {
			m = secsLabel(t)
		}
		curve.Label = fmt.Sprintf("%s: %d/%d failed, median %s", ax.labels[i], km.Events, km.N, m)
		p.Series = append(p.Series, curve)
		if len(cens.X) > 0 {
			p.Series = append(p.Series, cens)
		}
	}
	return Figure{Name: "survival", Title: sweepTitle(sw, "survival"), Panels: []Panel{p},
		Caption: "A curve steps down at each failure; a cross marks a run that ended (its bound) without failing. A curve that stays above 0.5 has no median: it is \"not reached\", not infinite."}
}

// SweepLatencyFigure is the latency plot of a sweep: per setting, the
// connect latency (op latency when no connect was timed) of its
// repetitions merged exactly from their histograms. ok is false when no
// run has one.
func SweepLatencyFigure(sw *schema.SweepSummary, runs [][]*schema.Summary) (Figure, bool) {
	ax := axisOf(sw)
	name := "connect"
	has := func(n string) bool {
		for _, rs := range runs {
			for _, r := range rs {
				if r != nil && r.Latency[n].Count > 0 {
					return true
				}
			}
		}
		return false
	}
	if !has(name) {
		name = "op"
		if !has(name) {
			return Figure{}, false
		}
	}
	var ss []Series
	for i := range sw.Points {
		if i >= len(runs) {
			break
		}
		var ls []schema.Latency
		for _, r := range runs[i] {
			if r != nil && r.Latency[name].Count > 0 {
				ls = append(ls, r.Latency[name])
			}
		}
		if len(ls) == 0 {
			continue
		}
		m, err := schema.MergeLatency(ls...)
		if err != nil { // schema 1: no histograms to merge; the first run's percentiles
			m = ls[0]
		}
		if sr, ok := latencySeries(ax.labels[i], m); ok {
			sr.Color = i
			ss = append(ss, sr)
		}
	}
	if len(ss) == 0 {
		return Figure{}, false
	}
	p := latencyPanel(ss)
	p.Title = name + " latency by percentile, repetitions merged"
	return Figure{Name: "latency", Title: sweepTitle(sw, name+" latency"), Panels: []Panel{p},
		Caption: "Per setting, the HDR histograms of its repetitions merged exactly (the same bounds in every run), drawn by percentile."}, true
}
