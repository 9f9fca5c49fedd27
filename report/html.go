package report

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"secs": secs,
	"us":   us,
	"code": codeString,
	"num":  num,
	"verdictClass": func(v string) string {
		switch v {
		case schema.ThresholdOK, "passed", "better":
			return "ok"
		case schema.ThresholdCrossed, "failed", "worse":
			return "bad"
		}
		return "warn"
	},
	"verdictText": func(v string) string { return strings.ReplaceAll(v, "_", " ") },
	"join":        strings.Join,
	"bytes":       func(v int64) string { return bytesLabel(float64(v)) },
}).ParseFS(templateFS, "templates/*.html"))

// Plot is a rendered figure as a page shows it: the SVG inline (a data:
// URI, so the page needs no other file) and the names of its files.
type Plot struct {
	Figure Figure
	// Src is the SVG as a data: URI.
	Src template.URL
	// SVG and PNG are the file names beside the page.
	SVG, PNG string
}

func plotOf(fig Figure, svg []byte, dir string) Plot {
	return Plot{Figure: fig, Src: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg)),
		SVG: dir + fig.Name + ".svg", PNG: dir + fig.Name + ".png"}
}

// RunPage is what a run's report.html shows.
type RunPage struct {
	Sum      *schema.Summary
	Name     string
	Settings []Setting
	// Sysctls are the host's (or the client cell's) settings in force.
	Sysctls []Setting
	Rlimits []Setting
	// Text is the run's text summary (what `nobufs report` prints).
	Text  string
	Plots []Plot
	// Files are links to the run's files.
	Files []string
	// Generated says when and by what the page was made.
	Generated string
}

// SweepPage is what a sweep's report.html shows.
type SweepPage struct {
	Sweep  *schema.SweepSummary
	Points []SweepPointRow
	// Trend is the answer to "does failure move with the setting?".
	Trend     string
	LogRank   string
	Settings  []Setting
	Runs      []SweepRunRow
	Plots     []Plot
	Files     []string
	Table     string
	Generated string
	// Thresholds counts, per threshold, the runs whose verdict was not ok.
	Thresholds []ThresholdTally
	// Hogs lists, per point, the socket that held the most (dead-peer).
	Hogs []Hog
}

// SweepPointRow is one point in the sweep page's time-to-failure table.
type SweepPointRow struct {
	Label       string
	Runs, Fails int
	Interrupted int
	// KM is the Kaplan–Meier median with its 95 % interval, or "not reached".
	KM        string
	TTF       string
	Failure   string
	OpsBefore string
	Columns   []string
}

// SweepRunRow is one repetition in the sweep page's runs table.
type SweepRunRow struct {
	Point    int
	Label    string
	Rep      int
	Dir      string
	Status   string
	Outcome  string
	HasPage  bool
	Crossed  int
	Censored bool
}

// ThresholdTally is one threshold over a sweep's runs.
type ThresholdTally struct {
	Threshold string
	PerPoint  []string
	Failed    int
}

// Hog is the socket of a point that held the most queued bytes.
type Hog struct {
	Label  string
	Run    string
	Socket schema.SocketStat
}

// WriteRunPage writes a run's report.html.
func WriteRunPage(w io.Writer, p RunPage) error {
	return pageTemplates.ExecuteTemplate(w, "run.html", p)
}

// WriteSweepPage writes a sweep's report.html.
func WriteSweepPage(w io.Writer, p SweepPage) error {
	return pageTemplates.ExecuteTemplate(w, "sweep.html", p)
}

func hostSettings(s *schema.Summary) (sys, rl []Setting) {
	for _, k := range sortedKeys(s.Settings.Sysctls) {
		sys = append(sys, Setting{k, s.Settings.Sysctls[k]})
	}
	reg := make([]string, 0, len(s.Settings.Registry))
	for k := range s.Settings.Registry {
		reg = append(reg, k)
	}
	slices.Sort(reg)
	for _, k := range reg {
		sys = append(sys, Setting{k, strconv.FormatUint(s.Settings.Registry[k], 10)})
	}
	names := make([]string, 0, len(s.Settings.Rlimits))
	for k := range s.Settings.Rlimits {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		r := s.Settings.Rlimits[k]
		lim := func(v uint64) string {
			if v == ^uint64(0) {
				return "unlimited"
			}
			return strconv.FormatUint(v, 10)
		}
		rl = append(rl, Setting{k, lim(r.Soft) + " (hard " + lim(r.Hard) + ")"})
	}
	return sys, rl
}

// sweepRows builds the per-point table of a sweep page: counts, the
// Kaplan–Meier median, the failures' median/min/max, the failure and the
// columns.
func sweepRows(sw *schema.SweepSummary, runs [][]*schema.Summary) []SweepPointRow {
	var out []SweepPointRow
	for i, p := range sw.Points {
		r := SweepPointRow{Label: PointLabel(sw, p), Runs: p.Runs, Fails: p.Failures, Interrupted: p.Interrupted, KM: "-", TTF: "none", Failure: "-", OpsBefore: "-"}
		if i < len(runs) {
			if smp := SurvivalSample(runs[i]); len(smp.Times) > 0 {
				if km, err := stats.NewKaplanMeier(smp); err == nil {
					if m, err := km.Median(0.95); err == nil {
						r.KM = survivalText(m)
					}
				}
			}
		}
		if p.TTF != nil {
			r.TTF = fmt.Sprintf("%s [%s–%s]", secs(p.TTF.Median), secs(p.TTF.Min), secs(p.TTF.Max))
			r.Failure = fmt.Sprintf("%s (%s, %s)", p.Class, p.Phase, codeString(p.Code, ""))
			r.OpsBefore = num(p.OpsBefore.Median)
		}
		for _, c := range p.Columns {
			if c.Stat == nil {
				r.Columns = append(r.Columns, "-")
				continue
			}
			r.Columns = append(r.Columns, fmt.Sprintf("%s [%s–%s]", num(c.Median), num(c.Min), num(c.Max)))
		}
		out = append(out, r)
	}
	return out
}

// survivalText writes a Kaplan–Meier median with its interval.
func survivalText(m stats.Median) string {
	f := func(t stats.SurvivalTime) string {
		if v, ok := t.Value(); ok {
			return secs(v)
		}
		return "not reached"
	}
	if !m.Estimate.Reached() {
		return "not reached"
	}
	return fmt.Sprintf("%s (95%% CI %s–%s)", f(m.Estimate), f(m.Lower), f(m.Upper))
}

// TrendText says whether failure moves with a sweep's setting: the
// log-rank test for trend over the points in order (scores: the settings'
// values when they are numbers, else 1, 2, 3…), and the log-rank test of
// any difference. It says so when the data admit no test.
func TrendText(sw *schema.SweepSummary, runs [][]*schema.Summary) (trend, logrank string) {
	groups, scores, _ := trendGroups(sw, runs)
	if len(groups) < 2 {
		return "one setting with runs: nothing to compare", ""
	}
	tr, err := stats.LogRankTrend(groups, scores)
	switch {
	case err == nil:
		along := "as the setting grows"
		if !axisOf(sw).numeric {
			along = "along the settings, in the order listed"
		}
		dir := "no significant trend " + along
		if tr.P <= 0.05 {
			if tr.Z > 0 {
				dir = "failure comes sooner " + along
			} else {
				dir = "failure comes later " + along
			}
		}
		trend = fmt.Sprintf("%s (log-rank test for trend: z = %.2f, %s)", dir, tr.Z, pText(tr.P))
		lr := tr.LogRank
		logrank = fmt.Sprintf("log-rank test of any difference between the settings: χ² = %.2f on %d df, %s", lr.Chi2, lr.DF, pText(lr.P))
	case errors.Is(err, stats.ErrNoEvents):
		trend = "no run failed at any setting: every time is censored, there is no trend to test"
	default:
		trend = "no trend test possible: " + err.Error()
	}
	return trend, logrank
}

// trendGroups are a sweep's points that have runs, as censored samples,
// with their scores for the trend test.
func trendGroups(sw *schema.SweepSummary, runs [][]*schema.Summary) (groups []stats.Sample, scores []float64, labels []string) {
	ax := axisOf(sw)
	for i := range sw.Points {
		if i >= len(runs) {
			break
		}
		smp := SurvivalSample(runs[i])
		if len(smp.Times) == 0 {
			continue
		}
		score := float64(i + 1)
		if ax.numeric {
			score = ax.x[i]
		}
		groups, scores, labels = append(groups, smp), append(scores, score), append(labels, ax.labels[i])
	}
	return groups, scores, labels
}

// pText writes a p-value: "p = 0.0123" (3 significant digits), or
// "p < 0.0001".
func pText(p float64) string {
	if p < 1e-4 {
		return "p < 0.0001"
	}
	return "p = " + strconv.FormatFloat(p, 'g', 3, 64)
}

func generated(version string, now time.Time) string {
	if version == "" {
		version = "dev"
	}
	return "made by nobufs " + version + " from the results files" + func() string {
		if now.IsZero() {
			return ""
		}
		return " at " + now.UTC().Format(time.RFC3339)
	}()
}

// textOf is a run's text summary as a string.
func textOf(s *schema.Summary) string {
	var b bytes.Buffer
	_ = Text(&b, s)
	return b.String()
}
