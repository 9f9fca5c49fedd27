package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nobufs/nobufs/scenarios"
)

// StopThreshold is the stop reason of a run that a threshold with abort
// stopped.
const StopThreshold = "threshold"

// Threshold verdicts.
const (
	// ThresholdOK: the metric is within its bounds.
	ThresholdOK = "ok"
	// ThresholdCrossed: the metric is outside its bounds.
	ThresholdCrossed = "crossed"
	// ThresholdNoData: the run has no value for the metric (no connect
	// succeeded, nothing was issued, a section the kind does not write).
	// It is not a pass: it fails the run as a crossed threshold does.
	ThresholdNoData = "no_data"
)

// ThresholdResult is one threshold of scenario.thresholds as judged at the
// end of the run.
type ThresholdResult struct {
	Metric string `json:"metric"`
	Class  string `json:"class,omitempty"`
	// Max and Min are the bounds as written in the scenario.
	Max string `json:"max,omitempty"`
	Min string `json:"min,omitempty"`
	// Unit is the unit of Value: "s", "count", "ratio" (0–1), "per_sec",
	// or "" for a path (summary.json's own unit).
	Unit string `json:"unit"`
	// Value is the metric's value; null when there is no data.
	Value *float64 `json:"value"`
	// Censored says Value is a lower bound: the run ended without the
	// event (a ttf of a run that did not fail is at least its length).
	Censored bool `json:"censored,omitempty"`
	// Verdict is ok, crossed or no_data.
	Verdict string `json:"verdict"`
	// Detail says what was found, in a sentence.
	Detail string `json:"detail"`
	// Aborted says this threshold stopped the run (abort: true).
	Aborted bool `json:"aborted,omitempty"`
}

// Passed reports whether the threshold passed; crossed and no data fail.
func (r ThresholdResult) Passed() bool { return r.Verdict == ThresholdOK }

// ThresholdsFailed reports whether any threshold did not pass.
func ThresholdsFailed(rs []ThresholdResult) bool {
	for _, r := range rs {
		if !r.Passed() {
			return true
		}
	}
	return false
}

// CheckMetric checks a threshold's metric: a named one, a latency
// statistic, or a path that names a number in summary.json.
func CheckMetric(metric string) error {
	m, err := scenarios.ResolveMetric(metric)
	if err != nil {
		return err
	}
	if m.Path != "" {
		return CheckColumn(m.Path)
	}
	return nil
}

// CheckScenario checks what the scenario format cannot know alone: that
// each threshold's path names a number in summary.json. Problems are at
// the thresholds' positions in file.
func CheckScenario(sc *scenarios.Scenario, file string) error {
	return sc.CheckThresholds(file, CheckMetric)
}

// JudgeThresholds judges every threshold against a finished run's summary.
func JudgeThresholds(ts []scenarios.Threshold, s *Summary) []ThresholdResult {
	if len(ts) == 0 {
		return nil
	}
	out := make([]ThresholdResult, 0, len(ts))
	for _, t := range ts {
		out = append(out, judge(t, s))
	}
	return out
}

// measure is one metric's value in a summary.
type measure struct {
	v        float64
	ok       bool   // there is a value
	censored bool   // v is a lower bound
	why      string // when !ok: why there is none
}

func judge(t scenarios.Threshold, s *Summary) ThresholdResult {
	r := ThresholdResult{Metric: t.Metric, Class: t.Class, Max: string(t.Max), Min: string(t.Min)}
	m, err := scenarios.ResolveMetric(t.Metric)
	if err == nil && m.Path != "" {
		err = CheckColumn(m.Path)
	}
	if err != nil {
		r.Verdict, r.Detail = ThresholdNoData, "no data: "+err.Error()
		return r
	}
	r.Unit = unitOf(m.Unit)
	x := measureOf(m, t.Class, s)
	name := t.Metric
	if t.Class != "" {
		name += "[" + t.Class + "]"
	}
	if !x.ok {
		r.Verdict, r.Detail = ThresholdNoData, fmt.Sprintf("no data: %s", x.why)
		return r
	}
	v := x.v
	r.Value, r.Censored = &v, x.censored
	hi, haveHi := t.Max.Value()
	lo, haveLo := t.Min.Value()
	show := func(f float64) string { return formatValue(m.Unit, f) }
	if x.censored {
		// v is a lower bound: it passes a min it reaches and crosses a
		// max it reaches; short of either, the run says nothing.
		switch {
		case haveHi && v >= hi:
			r.Verdict, r.Detail = ThresholdCrossed, fmt.Sprintf("%s > %s: %s within %s", name, show(hi), x.why, show(v))
		case haveLo && v >= lo && !haveHi:
			r.Verdict, r.Detail = ThresholdOK, fmt.Sprintf("%s ≥ %s: %s within %s", name, show(lo), x.why, show(v))
		default:
			r.Value = nil
			r.Verdict, r.Detail = ThresholdNoData, fmt.Sprintf("no data: %s within %s, which decides neither bound", x.why, show(v))
		}
		return r
	}
	switch {
	case haveHi && v > hi:
		r.Verdict, r.Detail = ThresholdCrossed, fmt.Sprintf("%s = %s > %s", name, show(v), show(hi))
	case haveLo && v < lo:
		r.Verdict, r.Detail = ThresholdCrossed, fmt.Sprintf("%s = %s < %s", name, show(v), show(lo))
	default:
		var b []string
		if haveLo {
			b = append(b, "≥ "+show(lo))
		}
		if haveHi {
			b = append(b, "≤ "+show(hi))
		}
		r.Verdict, r.Detail = ThresholdOK, fmt.Sprintf("%s = %s %s", name, show(v), strings.Join(b, " and "))
	}
	return r
}

func measureOf(m scenarios.ResolvedMetric, class string, s *Summary) measure {
	none := func(why string) measure { return measure{why: why} }
	val := func(v float64) measure { return measure{v: v, ok: true} }
	issued := s.Ops.Issued
	switch m.Name {
	case "ttf":
		if class == "" {
			if f := s.TimeToFailure; f != nil {
				return val(f.AtSec)
			}
			return measure{v: s.ElapsedSec, ok: true, censored: true, why: "no failure"}
		}
		for _, c := range s.Classes {
			if string(c.Class) == class {
				return val(c.FirstAt)
			}
		}
		return measure{v: s.ElapsedSec, ok: true, censored: true, why: "no " + class}
	case "ops_before_failure":
		if f := s.TimeToFailure; f != nil {
			return val(float64(f.OKBefore))
		}
		return measure{v: float64(s.Ops.OK), ok: true, censored: true, why: "no failure"}
	case "errors", "error_rate":
		if issued == 0 {
			return none("no operation was issued")
		}
		n := float64(s.Ops.Failed)
		if class != "" {
			n = 0
			for _, e := range s.Errors {
				if string(e.Class) == class {
					n += float64(e.Count)
				}
			}
		}
		if m.Name == "error_rate" {
			return val(n / float64(issued))
		}
		return val(n)
	case "ok_rate":
		if issued == 0 {
			return none("no operation was issued")
		}
		return val(float64(s.Ops.OK) / float64(issued))
	case "ok_per_sec":
		if s.ElapsedSec <= 0 {
			return none("the run has no length")
		}
		return val(float64(s.Ops.OK) / s.ElapsedSec)
	case "dropped", "dropped_rate":
		all := issued + s.Ops.Dropped
		if all == 0 {
			return none("no arrival was due")
		}
		if m.Name == "dropped_rate" {
			return val(float64(s.Ops.Dropped) / float64(all))
		}
		return val(float64(s.Ops.Dropped))
	case "peak_open":
		if issued == 0 {
			return none("no operation was issued")
		}
		return val(float64(s.PeakOpen))
	case "recovery":
		f := s.TimeToFailure
		switch {
		case f == nil:
			return none("no failure to recover from")
		case s.PortExhaustion == nil:
			return none("the run records no recovery (kind port-exhaustion does, with stop.after_failure)")
		case s.PortExhaustion.RecoveredAtSec == nil:
			return measure{v: s.ElapsedSec - f.AtSec, ok: true, censored: true, why: "no recovery"}
		}
		return val(*s.PortExhaustion.RecoveredAtSec - f.AtSec)
	case "server_errors":
		if s.Target.Mode == "external" || s.Target.Mode == "" {
			return none("an external target reports no errors of its own")
		}
		var n float64
		for _, e := range s.Target.ServerErrors {
			if class == "" || string(e.Class) == class {
				n += float64(e.Count)
			}
		}
		return val(n)
	case "latency":
		return latencyMeasure(m, s)
	}
	v, ok := columnValue(s, m.Path)
	if !ok {
		return none(m.Path + " is not in this run's summary")
	}
	return val(v)
}

func latencyMeasure(m scenarios.ResolvedMetric, s *Summary) measure {
	l, ok := s.Latency[m.Latency]
	if !ok || l.Count == 0 {
		what := "connect"
		if m.Latency == "op" {
			what = "operation"
		}
		return measure{why: "no " + what + " succeeded, so there is no " + m.Latency + " latency"}
	}
	us := func(v float64) measure { return measure{v: v / 1e6, ok: true} }
	switch m.Stat {
	case "min":
		return us(float64(l.Min))
	case "mean":
		return us(l.Mean)
	case "max":
		return us(float64(l.Max))
	}
	if h, err := l.Hist(); err == nil {
		return us(float64(h.ValueAtQuantile(m.Quantile)))
	}
	switch m.Quantile {
	case 50:
		return us(float64(l.P50))
	case 90:
		return us(float64(l.P90))
	case 99:
		return us(float64(l.P99))
	case 99.9:
		return us(float64(l.P999))
	}
	return measure{why: "this summary keeps p50, p90, p99 and p99.9 only (no histogram: schema 1)"}
}

func unitOf(u string) string {
	switch u {
	case scenarios.UnitTime:
		return "s"
	case scenarios.UnitCount:
		return "count"
	case scenarios.UnitRatio:
		return "ratio"
	case scenarios.UnitRate:
		return "per_sec"
	}
	return ""
}

// formatValue writes a metric's value in its unit: times as durations,
// ratios as percentages.
func formatValue(unit string, v float64) string {
	switch unit {
	case scenarios.UnitTime:
		d := time.Duration(v * float64(time.Second))
		switch {
		case d >= time.Second:
			return d.Round(time.Millisecond).String()
		case d >= time.Millisecond:
			return d.Round(time.Microsecond).String()
		}
		return d.String()
	case scenarios.UnitRatio:
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	case scenarios.UnitRate:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ThresholdMonitor judges the thresholds that abort while the run goes,
// from its timeline samples: counts, rates and the time to failure are in
// them (latency histograms and the kinds' sections are not, which is why
// only metrics marked live can abort). It is used by one goroutine, the
// engine's sampler (workers.Options.OnSample).
type ThresholdMonitor struct {
	sc      *scenarios.Scenario
	abort   []int // indexes of the thresholds with abort
	tally   Tally
	elapsed float64
	ttf     *Failure
	tripped int
}

// NewThresholdMonitor returns a monitor of sc's thresholds with abort, or
// nil when it has none.
func NewThresholdMonitor(sc *scenarios.Scenario) *ThresholdMonitor {
	m := &ThresholdMonitor{sc: sc, tripped: -1}
	for i, t := range sc.Thresholds {
		if t.Abort {
			m.abort = append(m.abort, i)
		}
	}
	if len(m.abort) == 0 {
		return nil
	}
	return m
}

// Sample folds one timeline sample and reports whether a threshold with
// abort is crossed (once its delay has passed): the run should stop.
// No data never stops a run; it is judged at the end.
func (m *ThresholdMonitor) Sample(smp Sample) (stop bool) {
	m.tally.AddSample(smp)
	m.elapsed = smp.Elapsed
	if smp.TimeToFailure != nil && m.ttf == nil {
		f := *smp.TimeToFailure
		m.ttf = &f
	}
	if m.tripped >= 0 {
		return true
	}
	s := &Summary{Scenario: m.sc, ElapsedSec: m.elapsed, TimeToFailure: m.ttf}
	m.tally.Ops.Aborted = 0
	m.tally.Fill(s)
	for _, i := range m.abort {
		t := m.sc.Thresholds[i]
		if m.elapsed < t.Delay.D().Seconds() {
			continue
		}
		if judge(t, s).Verdict == ThresholdCrossed {
			m.tripped = i
			return true
		}
	}
	return false
}

// Mark records in a finished run's judged thresholds which one stopped it.
func (m *ThresholdMonitor) Mark(s *Summary) {
	if m == nil || m.tripped < 0 || m.tripped >= len(s.Thresholds) {
		return
	}
	s.Thresholds[m.tripped].Aborted = true
}

// ColumnValue reads the number at path (a column path, CheckColumn) from
// a run's summary; ok is false when the run does not have it.
func ColumnValue(s *Summary, path string) (float64, bool) { return columnValue(s, path) }
