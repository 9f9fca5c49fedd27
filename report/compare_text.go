package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

// CompareText writes a comparison as tables, one per group, then each
// side's trend for sweeps and the verdicts counted.
func CompareText(w io.Writer, c *Comparison) error {
	fmt.Fprintf(w, "BASE  %s (%s)\nNEW   %s (%s)\n", c.Base.Label, c.Base.Describe(), c.New.Label, c.New.Describe())
	for _, n := range c.Notes {
		fmt.Fprintf(w, "note  %s\n", n)
	}
	for _, g := range c.Groups {
		fmt.Fprintf(w, "\n%s: %s vs %s\n", g.Name, plural(g.BaseRuns, "run"), plural(g.NewRuns, "run"))
		if len(g.Rows) == 0 {
			fmt.Fprintln(w, "  nothing to compare: a side has no run here")
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  metric\tbase\tnew\tchange\tp\tverdict")
		for _, r := range g.Rows {
			p := "-"
			if !math.IsNaN(r.P) {
				p = pNum(r.P)
			}
			v := r.Verdict.String()
			if r.Note != "" && r.Verdict == stats.TooFewSamples {
				v += " (smallest p " + pNum(stats.MinAchievableP(g.BaseRuns, g.NewRuns)) + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Metric, r.Base, r.New, r.Change, p, v)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if c.BaseTrend != "" || c.NewTrend != "" {
		fmt.Fprintf(w, "\ntrend BASE: %s\ntrend NEW:  %s\n", c.BaseTrend, c.NewTrend)
	}
	n := c.Counts()
	fmt.Fprintf(w, "\nverdicts: %d worse, %d better, %d no significant change, %d too few samples (α = %g; ttf and ops_before_failure: log-rank on censored runs; others: Mann–Whitney U)\n",
		n[stats.Worse], n[stats.Better], n[stats.NoChange], n[stats.TooFewSamples], c.Alpha)
	return nil
}

// CompareJSON writes a comparison as JSON.
func CompareJSON(w io.Writer, c *Comparison) error {
	type row struct {
		Metric   string    `json:"metric"`
		Censored bool      `json:"censored,omitempty"`
		Base     string    `json:"base"`
		New      string    `json:"new"`
		Change   string    `json:"change"`
		P        *float64  `json:"p"`
		Test     string    `json:"test"`
		Verdict  string    `json:"verdict"`
		Note     string    `json:"note,omitempty"`
		BaseVals []float64 `json:"base_values"`
		NewVals  []float64 `json:"new_values"`
	}
	type group struct {
		Name     string `json:"name"`
		BaseRuns int    `json:"base_runs"`
		NewRuns  int    `json:"new_runs"`
		Rows     []row  `json:"rows"`
	}
	out := struct {
		Base      string   `json:"base"`
		New       string   `json:"new"`
		Alpha     float64  `json:"alpha"`
		Notes     []string `json:"notes,omitempty"`
		Groups    []group  `json:"groups"`
		BaseTrend string   `json:"base_trend,omitempty"`
		NewTrend  string   `json:"new_trend,omitempty"`
	}{Base: c.Base.Label, New: c.New.Label, Alpha: c.Alpha, Notes: c.Notes, BaseTrend: c.BaseTrend, NewTrend: c.NewTrend}
	for _, g := range c.Groups {
		og := group{Name: g.Name, BaseRuns: g.BaseRuns, NewRuns: g.NewRuns, Rows: []row{}}
		for _, r := range g.Rows {
			or := row{Metric: r.Metric, Censored: r.Censored, Base: r.Base, New: r.New, Change: r.Change, Test: r.Test,
				Verdict: r.Verdict.String(), Note: r.Note, BaseVals: r.BaseValues, NewVals: r.NewValues}
			if !math.IsNaN(r.P) {
				p := r.P
				or.P = &p
			}
			og.Rows = append(og.Rows, or)
		}
		out.Groups = append(out.Groups, og)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// CompareBenchstat writes both sides in the Go benchmark format, one line
// per run, each block under a configuration line "side: base" or
// "side: new", so that `benchstat -col side FILE` compares them. A sweep's
// point is a sub-benchmark named by its values. benchstat does not know
// censoring: a run that did not fail has no ttf-sec and no
// ops-before-failure value (nobufs compare's own verdict handles them).
func CompareBenchstat(w io.Writer, c *Comparison) error {
	for _, side := range []struct {
		name string
		s    CompareSide
	}{{"base", c.Base}, {"new", c.New}} {
		fmt.Fprintf(w, "side: %s\n", side.name)
		if side.s.Sweep != nil {
			// Both sides' points are named after BASE's, so that benchstat
			// pairs the points compare paired.
			for _, pr := range c.pairs {
				i := pr[0]
				if side.name == "new" {
					i = pr[1]
				}
				name := benchName(c.Base.Sweep.Name) + "/" + benchSub(c.Base.Sweep, c.Base.Sweep.Points[pr[0]])
				for _, r := range at(side.s.Points, i) {
					if r != nil {
						benchLine(w, name, r)
					}
				}
			}
		} else {
			for _, r := range side.s.Runs {
				name := "Benchmark"
				if r.Scenario != nil {
					name = benchName(r.Scenario.Name)
				}
				benchLine(w, name, r)
			}
		}
		fmt.Fprintln(w)
	}
	return nil
}

var benchUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.=+-]+`)

// benchName is Benchmark + the name in CamelCase: port-exhaustion →
// BenchmarkPortExhaustion.
func benchName(name string) string {
	var b strings.Builder
	b.WriteString("Benchmark")
	up := true
	for _, r := range name {
		if r == '-' || r == '_' || r == '.' || unicode.IsSpace(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// benchSub names a sweep point: axis=value pairs, spaces as underscores.
func benchSub(sw *schema.SweepSummary, p schema.SweepPoint) string {
	parts := make([]string, len(p.Values))
	for i, v := range p.Values {
		n := fmt.Sprint(i)
		if i < len(sw.Axes) {
			n = shortAxis(sw.Axes[i])
		}
		parts[i] = benchUnsafe.ReplaceAllString(n+"="+v, "_")
	}
	return strings.Join(parts, "/")
}

func benchLine(w io.Writer, name string, r *schema.Summary) {
	fmt.Fprintf(w, "%s 1", name)
	if f := r.TimeToFailure; f != nil {
		fmt.Fprintf(w, " %s ttf-sec %d ops-before-failure", ftoa(f.AtSec), f.OKBefore)
	}
	if r.ElapsedSec > 0 {
		fmt.Fprintf(w, " %s ok-per-sec", ftoa(math.Round(float64(r.Ops.OK)/r.ElapsedSec*1000)/1000))
	}
	fmt.Fprintf(w, " %d errors", r.Ops.Failed)
	for _, l := range []string{"connect", "op"} {
		if lat := r.Latency[l]; lat.Count > 0 {
			fmt.Fprintf(w, " %d %s-p50-us %d %s-p99-us", lat.P50, l, lat.P99, l)
		}
	}
	fmt.Fprintln(w)
}
