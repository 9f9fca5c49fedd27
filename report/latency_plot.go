package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/nobufs/nobufs/schema"
)

// quantiler is what a latency curve needs of an HDR histogram.
type quantiler interface {
	ValueAtQuantile(q float64) int64
	TotalCount() int64
}

// ninesStep is the spacing of a latency curve's points on the nines axis.
const ninesStep = 0.025

// latencyCurve samples a histogram's percentiles on the nines axis, x =
// −log10(1−q), from 0 % up to as many nines as its count supports (at
// most six); y in milliseconds.
func latencyCurve(h quantiler) (x, y []float64) {
	n := h.TotalCount()
	if n == 0 {
		return nil, nil
	}
	top := math.Min(math.Log10(float64(n)), 6)
	for i := 0; ; i++ {
		xi := float64(i) * ninesStep
		if xi > top+1e-9 {
			break
		}
		q := 100 * (1 - math.Pow(10, -xi))
		x = append(x, math.Round(xi*1000)/1000)
		y = append(y, float64(h.ValueAtQuantile(q))/1000)
	}
	if last := math.Round(top*1000) / 1000; x[len(x)-1] < last {
		x = append(x, last)
		y = append(y, float64(h.ValueAtQuantile(100*(1-math.Pow(10, -top))))/1000)
	}
	return x, y
}

// latencySeries is one latency's curve: from the histogram when it has
// one, else (schema 1) the four percentiles the summary kept.
func latencySeries(label string, l schema.Latency) (Series, bool) {
	if l.Count == 0 {
		return Series{}, false
	}
	s := Series{Label: fmt.Sprintf("%s (n=%d, p99 %s)", label, l.Count, us(l.P99)), Kind: SeriesLine, Color: -1}
	if h, err := l.Hist(); err == nil {
		s.X, s.Y = latencyCurve(h)
		return s, true
	}
	s.Kind = SeriesPoints
	s.X = []float64{math.Log10(2), 1, 2, 3}
	s.Y = []float64{float64(l.P50) / 1000, float64(l.P90) / 1000, float64(l.P99) / 1000, float64(l.P999) / 1000}
	s.Label += ", percentiles only (schema 1)"
	return s, true
}

func latencyPanel(series []Series) Panel {
	return Panel{Title: "latency by percentile", XLabel: "percentile", YLabel: "latency (ms)", XScale: ScaleNines,
		YScale: ScaleLog, Series: series, Legend: "top-left"}
}

// LatencyFigure is the data of a run's latency plot: the percentile
// distribution of successful connects and operations from the HDR
// histograms, on the log "nines" axis (50 %, 90 %, 99 %, 99.9 %…). ok is
// false when nothing succeeded.
func LatencyFigure(s *schema.Summary) (Figure, bool) {
	var ss []Series
	for i, name := range []string{"connect", "op"} {
		if sr, ok := latencySeries(name, s.Latency[name]); ok {
			sr.Color = i
			ss = append(ss, sr)
		}
	}
	if len(ss) == 0 {
		return Figure{}, false
	}
	return Figure{Name: "latency", Title: title(s, "latency"), Panels: []Panel{latencyPanel(ss)},
		Caption: "Latency of successful connects and operations at each percentile, from the run's HDR histograms (1 µs–10 min, 3 significant digits); the axis goes as far as the count supports."}, true
}

// ErrorsFigure is the data of the errors plot: how many errors of each
// class in each phase (socket, bind, connect, send, recv…). ok is false
// without errors.
func ErrorsFigure(titleText string, errs []schema.ErrorCount) (Figure, bool) {
	if len(errs) == 0 {
		return Figure{}, false
	}
	byClass := map[string]float64{}
	cells := map[[2]string]float64{}
	var phases []string
	for _, e := range errs {
		byClass[string(e.Class)] += float64(e.Count)
		cells[[2]string{string(e.Phase), string(e.Class)}] += float64(e.Count)
		if !slices.Contains(phases, string(e.Phase)) {
			phases = append(phases, string(e.Phase))
		}
	}
	classes := make([]string, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	slices.SortFunc(classes, func(a, b string) int { return cmp.Or(cmp.Compare(byClass[b], byClass[a]), cmp.Compare(a, b)) })
	slices.Sort(phases)
	p := Panel{Title: "errors by class and phase", XLabel: "error class", YLabel: "errors", XScale: ScaleCategory, YScale: ScaleLinear, Ticks: classes}
	lo, hi := math.Inf(1), 0.0
	for i, ph := range phases {
		s := Series{Label: ph, Kind: SeriesBars, Color: i}
		for j, c := range classes {
			v := cells[[2]string{ph, c}]
			s.X, s.Y = append(s.X, float64(j)), append(s.Y, v)
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		p.Series = append(p.Series, s)
	}
	if hi/lo >= 100 {
		p.YScale = ScaleLog
	}
	return Figure{Name: "errors", Title: titleText, Panels: []Panel{p},
		Caption: "Every failed call counted by its class (errno meaning) and the phase it failed in; codes are in the table below."}, true
}
