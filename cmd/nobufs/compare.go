package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/report"
	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

type compareOptions struct {
	failOn  []string
	format  string
	alpha   float64
	metrics []string
}

func newCompareCmd(st *state) *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare BASE NEW",
		Short: "Compare two sets of runs or two sweeps: better, worse or no significant change, per metric",
		Long: `Compare reads BASE and NEW — each a run directory, a directory holding run
directories (results/<scenario>/, the repetitions of one scenario), or a
sweep directory — and says for each metric whether NEW is better, worse or
not significantly different (docs/compare.md):

  - time to failure and operations before failure are censored (a run that
    did not fail survived to its bound; it is not a tie at the bound): the
    Kaplan–Meier median of each side (or "not reached") and the log-rank
    test between them;
  - rates, counts and latency percentiles, one value per run: the
    Mann–Whitney U test with the Hodges–Lehmann shift and its confidence
    interval; with fewer than 4 runs a side no test can reach α = 0.05, and
    it says "too few samples" with the smallest p possible;
  - two sweeps are compared point by point (by their values, or by position
    when the values differ), and for each side whether failure moves with
    the setting (log-rank test for trend).

--fail-on names the metrics whose "worse" is a regression (exit 1): any,
ttf, ops_before_failure, ok_per_sec, errors (and errors[CLASS]), dropped,
connect.p50|p99, op.p50|p99, a kind's headline metric or a
--metric path. Without it compare only reports (exit 0).

Exit status: 0 no regression, 1 a --fail-on metric is worse, 2 bad input
(unreadable results, sides that cannot be compared, an unknown name).`,
		Example: `  nobufs compare results/base/port-exhaustion results/new/port-exhaustion
  nobufs compare --fail-on ttf baseline/port-range/20260101T000000Z results/port-range/20260102T000000Z
  nobufs compare --format benchstat base new > cmp.txt && benchstat -col side cmp.txt`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error { return runCompare(st, o, args[0], args[1]) },
	}
	cmd.Flags().StringSliceVar(&o.failOn, "fail-on", nil, "metrics whose worse verdict is a regression: exit 1 (repeatable, comma-separated; any for every metric)")
	cmd.Flags().StringVar(&o.format, "format", "text", "output: text, benchstat (Go benchmark format, both sides) or json")
	cmd.Flags().Float64Var(&o.alpha, "alpha", 0.05, "significance level")
	cmd.Flags().StringSliceVar(&o.metrics, "metric", nil, "also compare this summary.json path; PATH:higher when higher is better (default lower)")
	return cmd
}

func runCompare(st *state, o *compareOptions, basePath, newPath string) error {
	if !slices.Contains([]string{"text", "benchstat", "json"}, o.format) {
		return usageError("--format %q: want text, benchstat or json", o.format)
	}
	if !(o.alpha > 0 && o.alpha < 1) {
		return usageError("--alpha %v: want a level in (0, 1) such as 0.05", o.alpha)
	}
	var extra []report.MetricSpec
	for _, m := range o.metrics {
		path, dir, _ := strings.Cut(m, ":")
		spec := report.MetricSpec{Path: path, Dir: stats.LowerIsBetter}
		switch dir {
		case "", "lower":
		case "higher":
			spec.Dir = stats.HigherIsBetter
		default:
			return usageError("--metric %q: the direction is higher or lower", m)
		}
		if err := schema.CheckColumn(path); err != nil {
			return usageError("--metric %q: %v", m, err)
		}
		extra = append(extra, spec)
	}
	known := append(report.MetricNames(), "any")
	for _, m := range extra {
		known = append(known, m.Path)
	}
	for _, f := range o.failOn {
		name, _, _ := strings.Cut(f, "[")
		if !slices.Contains(known, name) {
			return usageError("--fail-on %q: not a metric compare knows (%s, or a --metric path)", f, strings.Join(known, ", "))
		}
	}
	base, err := loadSide(basePath)
	if err != nil {
		return badResults(err)
	}
	next, err := loadSide(newPath)
	if err != nil {
		return badResults(err)
	}
	c, err := report.Compare(base, next, report.CompareOptions{Alpha: o.alpha, Metrics: extra})
	if err != nil {
		return usageError("%v", err)
	}
	switch o.format {
	case "benchstat":
		err = report.CompareBenchstat(st.stdout, c)
	case "json":
		err = report.CompareJSON(st.stdout, c)
	default:
		err = report.CompareText(st.stdout, c)
	}
	if err != nil {
		return err
	}
	if reg := c.Regressions(o.failOn); len(reg) > 0 {
		fmt.Fprintf(st.stderr, "nobufs: regression (--fail-on %s): worse: %s\n", strings.Join(o.failOn, ","), strings.Join(reg, "; "))
		return silentExit(exitFailed)
	}
	if len(o.failOn) > 0 && o.format == "text" {
		fmt.Fprintf(st.stdout, "no regression (--fail-on %s)\n", strings.Join(o.failOn, ","))
	}
	return nil
}

// maxRunDirs bounds how many run directories one side may hold.
const maxRunDirs = 10000

// loadSide reads one side of a comparison: a sweep directory, a run
// directory, or a directory with run directories below it (up to three
// levels: results/, results/<scenario>/, results/<scenario>/<time>/).
func loadSide(path string) (report.CompareSide, error) {
	side := report.CompareSide{Label: path}
	if isSweepDir(path) {
		sw, runs, err := readSweep(path)
		if err != nil {
			return side, err
		}
		side.Sweep, side.Points = sw, runs
		return side, nil
	}
	var dirs []string
	root := filepath.Clean(path)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(root, p); rel != "." && strings.Count(rel, string(filepath.Separator)) >= 3 {
			return fs.SkipDir
		}
		if isSweepDir(p) && p != root {
			return fmt.Errorf("%s holds the sweep %s: compare sweep directories themselves", path, p)
		}
		if _, err := os.Stat(filepath.Join(p, record.SummaryFile)); err == nil {
			dirs = append(dirs, p)
			if len(dirs) > maxRunDirs {
				return fmt.Errorf("%s holds more than %d runs", path, maxRunDirs)
			}
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return side, err
	}
	if len(dirs) == 0 {
		return side, fmt.Errorf("%s: %w: no summary.json in it or below it", path, record.ErrNotRun)
	}
	for _, d := range dirs {
		s, err := record.ReadSummary(d)
		if err != nil {
			return side, err
		}
		if s.Status == schema.StatusInterrupted || s.Status == schema.StatusPartial {
			return side, fmt.Errorf("%s is %s: compare runs that ended (or move it aside)", d, s.Status)
		}
		side.Runs = append(side.Runs, s)
	}
	return side, nil
}
