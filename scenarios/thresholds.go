package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Threshold is one pass/fail criterion on a metric of the run, judged when
// it ends (and, with Abort, while it runs): the metric must be at most Max
// and at least Min. A crossed threshold, or one whose metric has no data,
// marks the run failed (exit 1). docs/scenarios.md describes the metrics.
type Threshold struct {
	// Metric is a named metric (ThresholdMetrics, or connect.pNN /
	// op.pNN for a latency percentile) or a dotted path to a number in
	// summary.json (half_open.completed, target.accepted).
	Metric string `yaml:"metric" json:"metric"`
	// Class narrows ttf, errors, error_rate and server_errors to one
	// error class.
	Class string `yaml:"class,omitempty" json:"class,omitempty"`
	// Max and Min bound the metric: a duration for times ("5ms"), a
	// number otherwise, a ratio also as a percentage ("1%").
	Max Limit `yaml:"max,omitempty" json:"max,omitempty"`
	Min Limit `yaml:"min,omitempty" json:"min,omitempty"`
	// Abort stops the run as soon as the threshold is crossed (after
	// Delay from the start), as k6's abortOnFail; only for metrics the
	// timeline carries (ThresholdMetric.Live).
	Abort bool     `yaml:"abort,omitempty" json:"abort,omitempty"`
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`

	// line and col are where Metric is in the file (0: not from a file).
	line, col int
}

// MaxThresholds is the most thresholds a scenario may list.
const MaxThresholds = 32

// Units of threshold metrics.
const (
	// UnitTime: seconds, written as a duration.
	UnitTime = "time"
	// UnitCount: a count of operations, errors, sockets.
	UnitCount = "count"
	// UnitRatio: a fraction in [0, 1], written as 0.01 or 1%.
	UnitRatio = "ratio"
	// UnitRate: per second.
	UnitRate = "rate"
	// UnitNumber: a number as summary.json writes it (its own unit).
	UnitNumber = "number"
)

// ThresholdMetric is one named metric a threshold can bound.
type ThresholdMetric struct {
	Name string
	// Unit is UnitTime, UnitCount, UnitRatio or UnitRate.
	Unit string
	// Class says the metric takes a class.
	Class bool
	// Live says the metric can be judged from the timeline while the run
	// goes (so abort applies to it).
	Live bool
	// Doc says what it is, for messages and docs/scenarios.md.
	Doc string
}

// ThresholdMetrics lists the named metrics; docs/scenarios.md lists the
// same (a test checks). Latency percentiles are connect.pNN and op.pNN
// (any percentile, e.g. p95, p99.9) and connect|op.min|mean|max.
var ThresholdMetrics = []ThresholdMetric{
	{"ttf", UnitTime, true, true, "time to the first failure (of class, if given)"},
	{"ops_before_failure", UnitCount, false, true, "operations that succeeded before the first failure"},
	{"errors", UnitCount, true, true, "failed operations (of class, if given)"},
	{"error_rate", UnitRatio, true, true, "errors over operations issued"},
	{"ok_rate", UnitRatio, false, true, "successful operations over operations issued"},
	{"ok_per_sec", UnitRate, false, true, "successful operations per second"},
	{"dropped", UnitCount, false, true, "open-model arrivals dropped (every worker busy)"},
	{"dropped_rate", UnitRatio, false, true, "dropped arrivals over all arrivals"},
	{"peak_open", UnitCount, false, true, "most client connections open at once"},
	{"recovery", UnitTime, false, false, "time from the failure to the first success after it (port-exhaustion with stop.after_failure)"},
	{"server_errors", UnitCount, true, false, "errors the built-in target met (accept/emfile…), of class if given"},
}

// LatencyStats are the statistics of connect.X and op.X besides pNN.
var LatencyStats = []string{"min", "mean", "max"}

// LiveRoots are the summary.json fields that the timeline carries while
// the run goes: a threshold on a path below one of them can abort.
var LiveRoots = []string{"ops", "peak_open", "bytes_out", "bytes_in", "time_to_failure", "elapsed_sec"}

// UnjudgedRoots are summary.json fields filled after thresholds are
// judged (by the placement or the runner): a threshold cannot name them.
var UnjudgedRoots = []string{"cell", "prediction", "thresholds", "status", "notes"}

var (
	metricPathRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)
	percentileRE = regexp.MustCompile(`^p([0-9]{1,2}(\.[0-9]{1,6})?|100)$`)
)

// ResolvedMetric is what a threshold's Metric names.
type ResolvedMetric struct {
	// Name is the named metric (ThresholdMetrics), "latency" for
	// connect.X/op.X, or "" for a summary.json path.
	Name string
	Unit string
	// Latency is "connect" or "op", Stat "p99.9", "max"… (latency only);
	// Quantile is the percentile in (0, 100] for pNN.
	Latency, Stat string
	Quantile      float64
	// Path is the summary.json path (paths only).
	Path  string
	Class bool
	Live  bool
}

// ResolveMetric reads a threshold's metric name. It checks the form only;
// whether a path names a number in summary.json is the results schema's to
// say (schema.CheckMetric).
func ResolveMetric(metric string) (ResolvedMetric, error) {
	for _, m := range ThresholdMetrics {
		if m.Name == metric {
			return ResolvedMetric{Name: m.Name, Unit: m.Unit, Class: m.Class, Live: m.Live}, nil
		}
	}
	if lat, stat, ok := strings.Cut(metric, "."); ok && (lat == "connect" || lat == "op") {
		r := ResolvedMetric{Name: "latency", Unit: UnitTime, Latency: lat, Stat: stat}
		if slices.Contains(LatencyStats, stat) {
			return r, nil
		}
		if percentileRE.MatchString(stat) {
			q, _ := strconv.ParseFloat(stat[1:], 64)
			if q > 0 && q <= 100 {
				r.Quantile = q
				return r, nil
			}
		}
		return ResolvedMetric{}, fmt.Errorf("%s latency: want %s.pNN (a percentile such as p50, p99, p99.9) or %s.%s", lat, lat, lat, strings.Join(LatencyStats, "|"))
	}
	if !metricPathRE.MatchString(metric) {
		return ResolvedMetric{}, fmt.Errorf("want a named metric (%s, connect.pNN, op.pNN) or a dotted path to a number in summary.json such as half_open.completed", strings.Join(metricNames(), ", "))
	}
	root, _, _ := strings.Cut(metric, ".")
	if slices.Contains(UnjudgedRoots, root) {
		return ResolvedMetric{}, fmt.Errorf("%s is filled after thresholds are judged; a threshold cannot name it", root)
	}
	return ResolvedMetric{Unit: UnitNumber, Path: metric, Live: slices.Contains(LiveRoots, root)}, nil
}

func metricNames() []string {
	out := make([]string, len(ThresholdMetrics))
	for i, m := range ThresholdMetrics {
		out[i] = m.Name
	}
	return out
}

// Limit is a threshold's bound as written: a duration ("250ms"), a number
// ("100", "0.5") or a percentage ("1%"). The empty Limit is no bound.
type Limit string

// UnmarshalText accepts a duration, a finite number or a percentage.
func (l *Limit) UnmarshalText(b []byte) error {
	s := Limit(strings.TrimSpace(string(b)))
	if _, _, err := s.parse(); err != nil {
		return err
	}
	*l = s
	return nil
}

// MarshalText writes the limit as it was given.
func (l Limit) MarshalText() ([]byte, error) { return []byte(l), nil }

func (Limit) want() string { return "a duration such as 250ms, a number or a percentage such as 1%" }

// parse returns the value (seconds for a duration, a fraction for a
// percentage) and the form it was written in.
func (l Limit) parse() (float64, string, error) {
	s := string(l)
	if s == "" {
		return 0, "", nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, "", fmt.Errorf("want a percentage such as 1%% or 99.9%%, got %q", s)
		}
		return f / 100, "percent", nil
	}
	if f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, "", fmt.Errorf("want a finite number, got %q", s)
		}
		return f, "number", nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, "", fmt.Errorf("want %s, got %q", Limit("").want(), s)
	}
	return d.Seconds(), "duration", nil
}

// Value returns the bound (seconds for a duration, a fraction for a
// percentage); ok is false when there is none.
func (l Limit) Value() (v float64, ok bool) {
	v, form, err := l.parse()
	return v, err == nil && form != ""
}

// String describes a threshold in words: "connect.p99 ≤ 5ms",
// "ttf[eaddrnotavail] ≥ 30s".
func (t Threshold) String() string {
	name := t.Metric
	if t.Class != "" {
		name += "[" + t.Class + "]"
	}
	var parts []string
	if t.Min != "" {
		parts = append(parts, "≥ "+string(t.Min))
	}
	if t.Max != "" {
		parts = append(parts, "≤ "+string(t.Max))
	}
	return name + " " + strings.Join(parts, " and ")
}

// Pos returns where the threshold's metric is in its file (0, 0 when the
// scenario was not read from one).
func (t Threshold) Pos() (line, col int) { return t.line, t.col }

// placeThresholds records where each threshold's metric is in the file.
func (d *decoder) placeThresholds(s *Scenario) {
	for i := range s.Thresholds {
		for _, key := range []string{"metric", ""} {
			if n, ok := d.pos[joinPath(fmt.Sprintf("thresholds[%d]", i), key)]; ok && n != nil {
				s.Thresholds[i].line, s.Thresholds[i].col = n.Line, n.Column
				break
			}
		}
	}
}

// CheckThresholds checks each threshold's metric with check (which knows
// the results schema), reporting every bad one at its position in file.
func (s *Scenario) CheckThresholds(file string, check func(metric string) error) error {
	var ps Problems
	for i, t := range s.Thresholds {
		if err := check(t.Metric); err != nil {
			ps = append(ps, Problem{File: file, Line: max(t.line, 1), Column: max(t.col, 1), Path: fmt.Sprintf("thresholds[%d].metric", i),
				Msg: fmt.Sprintf("thresholds[%d].metric %q: %v", i, t.Metric, err)})
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// validateThresholds checks the thresholds list: each metric's form, its
// class, the bounds' form for the metric's unit, and abort.
func validateThresholds(v *validator, s *Scenario) {
	if len(s.Thresholds) > MaxThresholds {
		v.add("thresholds", fmt.Sprintf("thresholds: want at most %d, got %d", MaxThresholds, len(s.Thresholds)))
	}
	for i, t := range s.Thresholds {
		p := fmt.Sprintf("thresholds[%d]", i)
		if t.Metric == "" {
			v.add(p+".metric", p+".metric is required: "+strings.Join(metricNames(), ", ")+", connect.pNN, op.pNN, or a path into summary.json")
			continue
		}
		m, err := ResolveMetric(t.Metric)
		if err != nil {
			v.add(p+".metric", fmt.Sprintf("%s.metric %q: %v", p, t.Metric, err))
			continue
		}
		switch {
		case t.Class != "" && !m.Class:
			v.add(p+".class", fmt.Sprintf("%s.class: %s takes no class (ttf, errors, error_rate and server_errors do)", p, t.Metric))
		case t.Class != "" && !slices.Contains(ErrorClasses, t.Class):
			v.add(p+".class", fmt.Sprintf("%s.class: %q is not an error class (allowed: %s)", p, t.Class, strings.Join(ErrorClasses, ", ")))
		}
		if t.Max == "" && t.Min == "" {
			v.add(p, p+": give max, min or both")
		}
		var lo, hi float64
		var haveLo, haveHi bool
		for _, b := range []struct {
			key string
			l   Limit
			val *float64
			ok  *bool
		}{{"max", t.Max, &hi, &haveHi}, {"min", t.Min, &lo, &haveLo}} {
			if b.l == "" {
				continue
			}
			x, form, err := b.l.parse()
			if err != nil {
				v.add(p+"."+b.key, fmt.Sprintf("%s.%s: %v", p, b.key, err))
				continue
			}
			if msg := limitProblem(m, form, x); msg != "" {
				v.add(p+"."+b.key, fmt.Sprintf("%s.%s %q: %s", p, b.key, b.l, msg))
				continue
			}
			*b.val, *b.ok = x, true
		}
		if haveLo && haveHi && lo > hi {
			v.add(p+".min", fmt.Sprintf("%s.min is larger than %s.max: no value can pass", p, p))
		}
		if t.Abort && !m.Live {
			v.add(p+".abort", fmt.Sprintf("%s.abort: %s is known only when the run ends (abort applies to %s and paths under %s)",
				p, t.Metric, strings.Join(liveNames(), ", "), strings.Join(LiveRoots, ", ")))
		}
		v.numAt(p+".delay", "thresholds[].delay", float64(t.Delay))
		if t.Delay > 0 && !t.Abort {
			v.add(p+".delay", p+".delay applies only with abort: true")
		}
		switch m.Name {
		case "dropped", "dropped_rate":
			if s.Load.Model != ModelOpen {
				v.add(p+".metric", fmt.Sprintf("%s.metric %s: only the open model drops arrivals (load.model is %s)", p, m.Name, s.Load.Model))
			}
		case "ttf", "ops_before_failure", "recovery":
			if len(s.Failure.Classes) == 0 {
				v.add(p+".metric", fmt.Sprintf("%s.metric %s needs at least one entry in failure.classes", p, m.Name))
			}
		}
		if m.Name == "recovery" && (s.Kind != KindPortExhaustion || s.Stop.AfterFailure == 0) {
			v.add(p+".metric", fmt.Sprintf("%s.metric recovery is recorded by kind %s with stop.after_failure > 0", p, KindPortExhaustion))
		}
	}
}

// limitProblem says what is wrong with a bound written in form for metric m.
func limitProblem(m ResolvedMetric, form string, x float64) string {
	switch m.Unit {
	case UnitTime:
		if form != "duration" {
			return "this metric is a time: write a duration such as 250ms or 30s"
		}
	case UnitRatio:
		if form == "duration" {
			return "this metric is a ratio: write 0.01 or 1%"
		}
		if x < 0 || x > 1 {
			return "a ratio is between 0 and 1 (0%–100%)"
		}
	case UnitCount, UnitRate:
		if form != "number" {
			return "this metric is a number: write it without a unit"
		}
		if x < 0 {
			return "this metric is never negative"
		}
	case UnitNumber:
		if form == "duration" {
			return "a path into summary.json is a number in its own unit (latency in µs, times in seconds): write it without a unit"
		}
	}
	return ""
}

func liveNames() []string {
	var out []string
	for _, m := range ThresholdMetrics {
		if m.Live {
			out = append(out, m.Name)
		}
	}
	return out
}
