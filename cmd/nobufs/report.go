package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/report"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/sweep"
)

// reportOptions say whether and where report files are written.
type reportOptions struct {
	// skip writes no report files (--no-report).
	skip bool
	// out, when set, is where the files go instead of the results
	// directory: out/<the directory's base name>/.
	out string
	// noPNG leaves out the PNG files.
	noPNG bool
}

func newReportCmd(st *state) *cobra.Command {
	var rebuild, force bool
	var ro reportOptions
	cmd := &cobra.Command{
		Use:   "report DIR...",
		Short: "Print recorded runs or sweeps and write their report.html, plots and CSV; or rebuild a lost summary",
		Long: `Report prints the summary of each run directory (results/<scenario>/<time>)
and writes, into it, report.html — one self-contained page (no script, no
font, no request: it opens offline) with the scenario, the settings in
force, the time to failure, the threshold verdicts, the top hogs and every
plot — the plots as SVG and PNG under plots/, timeline.csv and runs.csv
(docs/report.md). A sweep directory (it has plan.json) prints the sweep's
table and gets a page of its own, with time to failure against the
setting, survival curves and a trend test, and each of its runs a page
(its plots as SVG only).

Everything is remade from the results files alone: the same files give
the same pictures. --no-report only prints; --out DIR writes the files
under DIR/<run or sweep directory name>/ instead (results that are
read-only, a baseline kept in a repository).

With --rebuild it rebuilds summary.json from timeline.ndjson for a run that
died before writing it (SIGKILL, crash, power loss): counts are exact up to
the last complete sample, first occurrences are known to the sample interval,
and the status is "partial" unless the timeline's end line was written.`,
		Example: `  nobufs report results/port-exhaustion/20261122T024546Z
  nobufs report results/port-range/20261122T030000Z          # a sweep
  nobufs report --no-report results/port-exhaustion/*
  nobufs report --rebuild results/p2p-churn/20261122T030000Z`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, dirs []string) error {
			for i, dir := range dirs {
				if i > 0 {
					fmt.Fprintln(st.stdout)
				}
				if isSweepDir(dir) {
					if rebuild {
						return usageError("%s is a sweep directory; --rebuild applies to a run directory (one of its runs/…)", dir)
					}
					if err := reportSweep(st, dir, ro); err != nil {
						return err
					}
					continue
				}
				var sum *schema.Summary
				var err error
				if rebuild {
					sum, err = rebuildOne(st, dir, force)
				} else {
					sum, err = record.ReadSummary(dir)
					if err != nil {
						return badResults(err)
					}
					err = report.Text(st.stdout, sum)
				}
				if err != nil {
					return err
				}
				if err := writeRunReport(st, dir, sum, ro); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "rebuild summary.json from timeline.ndjson")
	cmd.Flags().BoolVar(&force, "force", false, "with --rebuild, overwrite an existing summary.json")
	addReportFlags(cmd, &ro, true)
	return cmd
}

// addReportFlags adds --no-report (and for report, --out and --no-png).
func addReportFlags(cmd *cobra.Command, ro *reportOptions, withOut bool) {
	cmd.Flags().BoolVar(&ro.skip, "no-report", false, "write no report.html, plots or CSV (print only)")
	cmd.Flags().BoolVar(&ro.noPNG, "no-png", false, "write the plots as SVG only")
	if withOut {
		cmd.Flags().StringVar(&ro.out, "out", "", "write the report files under DIR/<results directory name>/ instead of into the results directory")
	}
}

func rebuildOne(st *state, dir string, force bool) (*schema.Summary, error) {
	if _, err := os.Stat(filepath.Join(dir, record.SummaryFile)); err == nil && !force {
		return nil, usageError("%s already has %s; pass --force to replace it with one rebuilt from the timeline", dir, record.SummaryFile)
	}
	sum, err := record.Rebuild(dir)
	if err != nil {
		return nil, badResults(err)
	}
	// Printed first: a directory that cannot be written (read-only, full)
	// still shows what was rebuilt.
	if err := report.Text(st.stdout, sum); err != nil {
		return nil, err
	}
	if err := record.WriteSummaryFile(dir, sum); err != nil {
		return nil, &exitError{code: exitInternal, err: fmt.Errorf("%s: the rebuilt summary above was not saved: %w", dir, err)}
	}
	fmt.Fprintf(st.stdout, "%-17s%s\n", "rebuilt", filepath.Join(dir, record.SummaryFile))
	return sum, nil
}

// badResults marks unreadable or foreign results as bad input (exit 2).
func badResults(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return &exitError{code: exitInternal, err: err}
	}
	return &exitError{code: exitUsage, err: err}
}

// isSweepDir reports whether dir is a sweep's directory (it has plan.json).
func isSweepDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, sweep.PlanFile))
	return err == nil
}

// readTimeline reads a run directory's timeline; nil without one.
func readTimeline(dir string) (*schema.Timeline, error) {
	path := filepath.Join(dir, record.TimelineFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return schema.ReadTimeline(path, f)
}

// reportDir is where a results directory's report files go.
func reportDir(dir string, ro reportOptions) string {
	if ro.out == "" {
		return dir
	}
	return filepath.Join(ro.out, filepath.Base(filepath.Clean(dir)))
}

func reportOpts(ro reportOptions) report.Options {
	return report.Options{Version: version, Now: time.Now(), NoPNG: ro.noPNG}
}

// writeFiles writes a report's files under dir.
func writeFiles(dir string, files []report.File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return &exitError{code: exitInternal, err: fmt.Errorf("report: %w", err)}
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return &exitError{code: exitInternal, err: fmt.Errorf("report: %w", err)}
		}
	}
	return nil
}

// writeRunReport writes a run's report files and says where the page is.
func writeRunReport(st *state, dir string, sum *schema.Summary, ro reportOptions) error {
	if ro.skip {
		return nil
	}
	page, err := makeRunReport(dir, sum, ro)
	if err != nil {
		return err
	}
	fmt.Fprintf(st.stdout, "%-17s%s\n", "report", page)
	return nil
}

func makeRunReport(dir string, sum *schema.Summary, ro reportOptions) (string, error) {
	tl, err := readTimeline(dir)
	if err != nil {
		return "", badResults(err)
	}
	files, err := report.RunReport(sum, tl, reportOpts(ro))
	if err != nil {
		return "", &exitError{code: exitInternal, err: fmt.Errorf("report: %w", err)}
	}
	out := reportDir(dir, ro)
	if err := writeFiles(out, files); err != nil {
		return "", err
	}
	return filepath.Join(out, report.PageFile), nil
}

// readSweep reads a sweep directory's summary and each repetition's
// summary (nil: not run or unreadable, as the sweep table counts it).
func readSweep(dir string) (*schema.SweepSummary, [][]*schema.Summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, sweep.SummaryJSON))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: a sweep without %s (did it stop before its first run?): resume it with nobufs sweep --resume %s", dir, sweep.SummaryJSON, dir)
	}
	if err != nil {
		return nil, nil, err
	}
	var sw schema.SweepSummary
	if err := json.Unmarshal(b, &sw); err != nil {
		return nil, nil, fmt.Errorf("%s: not a sweep summary: %w", filepath.Join(dir, sweep.SummaryJSON), err)
	}
	runs := make([][]*schema.Summary, len(sw.Points))
	for i, p := range sw.Points {
		for _, rel := range p.Dirs {
			s, err := record.ReadSummary(filepath.Join(dir, rel))
			if err != nil {
				s = nil
			}
			runs[i] = append(runs[i], s)
		}
	}
	return &sw, runs, nil
}

// reportSweep prints a sweep directory's table and writes its report.
func reportSweep(st *state, dir string, ro reportOptions) error {
	sw, runs, err := readSweep(dir)
	if err != nil {
		return badResults(err)
	}
	if err := report.SweepTable(st.stdout, sw); err != nil {
		return err
	}
	if ro.skip {
		return nil
	}
	page, err := makeSweepReport(dir, sw, runs, ro)
	if err != nil {
		return err
	}
	fmt.Fprintf(st.stdout, "report  %s\n", page)
	return nil
}

// makeSweepReport writes a page for each repetition (in its own
// directory) and the sweep's page.
func makeSweepReport(dir string, sw *schema.SweepSummary, runs [][]*schema.Summary, ro reportOptions) (string, error) {
	pages := map[string]bool{}
	out := reportDir(dir, ro)
	for i, p := range sw.Points {
		for j, rel := range p.Dirs {
			if i >= len(runs) || j >= len(runs[i]) || runs[i][j] == nil {
				continue
			}
			// A run's page in a sweep has its plots as SVG only: a dozen
			// runs' PNGs would weigh more than the results (nobufs report
			// on the run directory writes them).
			rro := ro
			rro.noPNG = true
			if ro.out != "" {
				rro.out = filepath.Join(out, filepath.Dir(rel))
			}
			if _, err := makeRunReport(filepath.Join(dir, rel), runs[i][j], rro); err != nil {
				return "", err
			}
			pages[rel] = true
		}
	}
	files, err := report.SweepReport(sw, runs, pages, reportOpts(ro))
	if err != nil {
		return "", &exitError{code: exitInternal, err: fmt.Errorf("report: %w", err)}
	}
	if err := writeFiles(out, files); err != nil {
		return "", err
	}
	return filepath.Join(out, report.PageFile), nil
}
