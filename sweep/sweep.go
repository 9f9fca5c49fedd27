// Package sweep runs sweep files: every point (combination of axis values)
// of a base scenario, each repetition in a fresh run (a fresh lab cell when
// the scenario has a cell section), into results/<sweep>/<timestamp>/, and
// summarises time-to-failure, and the sweep file's columns, per point. An
// interrupted sweep resumes from its directory without redoing finished
// runs. docs/lab.md describes it.
package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nobufs/nobufs/runner"
	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/lab/vmlab"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/report"
	"github.com/nobufs/nobufs/scenarios"
)

// Files in a sweep directory.
const (
	PlanFile    = "plan.json"
	SweepFile   = "sweep.yaml"
	SummaryJSON = "summary.json"
	SummaryCSV  = "summary.csv"
	RunsDir     = "runs"
)

// Plan is what a sweep runs, written as plan.json when it starts; Resume
// reads it back, so a resumed sweep runs exactly the points it began with.
type Plan struct {
	Schema      int               `json:"schema"`
	Name        string            `json:"name"`
	File        string            `json:"file"`
	Axes        []string          `json:"axes"`
	Repetitions int               `json:"repetitions"`
	Columns     []string          `json:"columns,omitempty"`
	Points      []scenarios.Point `json:"points"`
}

// Options are the caller's side of a sweep.
type Options struct {
	// Run is passed to each run (its Dir is set per run).
	Run runner.Options
	// Created, when set, is called with the sweep directory once it exists.
	Created func(dir string)
	// Done, when set, is called after each run with its place and summary.
	Done func(point, rep int, sum *schema.Summary, dir string)
}

// Load reads and checks a sweep file as scenarios.LoadSweep does, and
// checks its columns against the fields of a run's summary.json.
func Load(file string) (*scenarios.Sweep, []scenarios.Point, error) {
	sw, points, err := scenarios.LoadSweep(file)
	if err != nil {
		return nil, nil, err
	}
	if err := sw.CheckColumns(schema.CheckColumn); err != nil {
		return nil, nil, err
	}
	return sw, points, nil
}

// Start makes results/<name>/<timestamp>/ under out for the sweep file,
// writes the plan and runs it.
func Start(ctx context.Context, file, out string, now time.Time, opts Options) (*schema.SweepSummary, string, error) {
	sw, points, err := Load(file)
	if err != nil {
		return nil, "", err
	}
	if err := checkCells(points); err != nil {
		return nil, "", err
	}
	plan := &Plan{Schema: 1, Name: sw.Name, File: file, Repetitions: sw.Repetitions, Columns: sw.Columns, Points: points}
	for _, a := range sw.Axes {
		plan.Axes = append(plan.Axes, a.Path)
	}
	base := filepath.Join(out, sw.Name, now.UTC().Format(record.TimestampLayout))
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, "", err
	}
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 1000 {
			return nil, "", fmt.Errorf("sweep directory: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
	if opts.Created != nil {
		opts.Created(dir)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, dir, err
	}
	if err := os.WriteFile(filepath.Join(dir, SweepFile), src, 0o644); err != nil {
		return nil, dir, err
	}
	b, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return nil, dir, err
	}
	if err := os.WriteFile(filepath.Join(dir, PlanFile), append(b, '\n'), 0o644); err != nil {
		return nil, dir, err
	}
	if err := os.Mkdir(filepath.Join(dir, RunsDir), 0o755); err != nil {
		return nil, dir, err
	}
	sum, err := run(ctx, dir, plan, opts)
	return sum, dir, err
}

// ErrNotSweepDir is returned by Resume for a directory without a readable
// sweep plan.
var ErrNotSweepDir = errors.New("not a sweep directory")

// Resume continues the sweep in dir: runs whose summary says they ended
// are kept, the others (interrupted, never finished, or rebuilt from the
// timeline of a run that died) are run again.
func Resume(ctx context.Context, dir string, opts Options) (*schema.SweepSummary, error) {
	b, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %w", dir, ErrNotSweepDir, err)
	}
	var plan Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		return nil, fmt.Errorf("%s is %w: %s: %w", dir, ErrNotSweepDir, PlanFile, err)
	} else if plan.Schema != 1 {
		return nil, fmt.Errorf("%s is %w: %s: schema %d, want 1", dir, ErrNotSweepDir, PlanFile, plan.Schema)
	}
	for i := range plan.Points {
		sc, err := scenarios.Parse(fmt.Sprintf("%s point %d", filepath.Join(dir, PlanFile), i), []byte(plan.Points[i].Source))
		if err != nil {
			return nil, err
		}
		plan.Points[i].Scenario = sc
	}
	if err := checkCells(plan.Points); err != nil {
		return nil, err
	}
	return run(ctx, dir, &plan, opts)
}

// checkCells fails early, before anything runs, when a point needs a cell
// and cells cannot be made here, or a VM the VM placement cannot boot.
func checkCells(points []scenarios.Point) error {
	for _, p := range points {
		if p.Scenario.VM != nil {
			if err := (vmlab.Placement{}).Check(p.Scenario); err != nil {
				return err
			}
		}
		if p.Scenario.Cell != nil {
			return lab.Check()
		}
	}
	return nil
}

// RunDir names a repetition's run directory inside the sweep's.
func RunDir(point, rep int) string {
	return filepath.Join(RunsDir, fmt.Sprintf("p%03d-r%d", point, rep))
}

func run(ctx context.Context, dir string, plan *Plan, opts Options) (*schema.SweepSummary, error) {
	out := &schema.SweepSummary{Name: plan.Name, Axes: plan.Axes, Repetitions: plan.Repetitions, Columns: plan.Columns}
	var runErr error
	for _, p := range plan.Points {
		var sums []*schema.Summary
		var dirs []string
		for rep := 1; rep <= plan.Repetitions; rep++ {
			rel := RunDir(p.Index, rep)
			dirs = append(dirs, rel)
			s, err := record.ReadSummary(filepath.Join(dir, rel))
			if err == nil && s.Status != schema.StatusInterrupted && s.Status != schema.StatusPartial {
				sums = append(sums, s) // finished before: keep
				continue
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, record.ErrNotRun) && runErr == nil {
				// A summary that is there but unreadable (another version's
				// schema, a permission) is not removed and run again.
				runErr = fmt.Errorf("point %d repetition %d: %w", p.Index, rep, err)
			}
			if ctx.Err() != nil || runErr != nil {
				sums = append(sums, nil)
				continue
			}
			s, err = runOne(ctx, filepath.Join(dir, rel), p.Scenario, opts.Run)
			if err != nil {
				runErr = fmt.Errorf("point %d repetition %d: %w", p.Index, rep, err)
			}
			sums = append(sums, s)
			if s != nil && opts.Done != nil {
				opts.Done(p.Index, rep, s, rel)
			}
		}
		pt := schema.SweepPointOf(p.Index, p.Values, sums, dirs)
		if len(plan.Columns) > 0 {
			pt.Columns = schema.ColumnStats(plan.Columns, sums)
		}
		out.Points = append(out.Points, pt)
	}
	if err := writeSummary(dir, out); err != nil {
		return out, errors.Join(runErr, err)
	}
	return out, runErr
}

// runOne runs one repetition into its own run directory, through the one
// run path (a fresh cell when the scenario has one).
func runOne(ctx context.Context, dir string, sc *scenarios.Scenario, opts runner.Options) (*schema.Summary, error) {
	if err := os.RemoveAll(dir); err != nil { // a run left unfinished
		return nil, err
	}
	opts.Dir = dir
	sum, _, err := runner.Run(ctx, sc, opts)
	return sum, err
}

func writeSummary(dir string, s *schema.SweepSummary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryJSON), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, SummaryCSV))
	if err != nil {
		return err
	}
	if err := report.SweepCSV(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
