// Package sweep runs sweep files: every point (combination of axis values)
// of a base scenario, each repetition in a fresh run (a fresh lab cell when
// the scenario has a cell section), into results/<sweep>/<timestamp>/, and
// summarises time-to-failure, and the sweep file's columns, per point. An
// interrupted sweep resumes from its directory without redoing finished
// runs. docs/lab.md describes it.
package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sync"

	"github.com/nobufs/nobufs/internal/regular"

	"golang.org/x/sync/errgroup"

	"github.com/nobufs/nobufs/runner"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

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
	// Warn, when set, is told what makes the sweep's runs less than
	// independent, before they run (it is in the summary's notes too).
	Warn func(note string)

	// Done, when set, is called after each run with its place and summary
	// (from the goroutine that ran it: with Parallel > 1, concurrently and
	// out of order).
	Done func(point, rep int, sum *schema.Summary, dir string)
	// Parallel runs that many repetitions at once (independent points on
	// a bigger machine); 0 or 1 runs them one after another. The table is
	// the same either way: each run has its own directory and place.
	Parallel int
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
	for _, p := range points { // threshold paths into summary.json
		if err := schema.CheckScenario(p.Scenario, file); err != nil {
			return nil, nil, err
		}
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
	if err := checkPoints(points, opts.Run); err != nil {
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
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, dir, err
	}
	defer unlock()
	if opts.Created != nil {
		opts.Created(dir)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, dir, err
	}
	if err := record.WriteFileAtomic(filepath.Join(dir, SweepFile), src); err != nil {
		return nil, dir, err
	}
	b, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return nil, dir, err
	}
	if err := record.WriteFileAtomic(filepath.Join(dir, PlanFile), append(b, '\n')); err != nil {
		return nil, dir, err
	}
	if err := os.Mkdir(filepath.Join(dir, RunsDir), 0o755); err != nil {
		return nil, dir, err
	}
	sum, err := run(ctx, dir, plan, opts)
	return sum, dir, err
}

// lockFile is the sweep directory's lock (see lockDir).
const lockFile = ".lock"

// ErrInUse is returned (wrapped) when another nobufs runs or resumes the
// same sweep directory: two at once would run the same points and remove
// each other's runs.
var ErrInUse = errors.New("sweep directory in use")

// ErrNotSweepDir is returned by Resume for a directory without a readable
// sweep plan.
var ErrNotSweepDir = errors.New("not a sweep directory")

// Resume continues the sweep in dir: runs whose summary says they ended
// are kept, the others (interrupted, never finished, or rebuilt from the
// timeline of a run that died) are run again.
func Resume(ctx context.Context, dir string, opts Options) (*schema.SweepSummary, error) {
	b, err := regular.ReadFile(filepath.Join(dir, PlanFile), scenarios.MaxFileSize*scenarios.MaxSweepPoints)
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %w", dir, ErrNotSweepDir, err)
	}
	var plan Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		return nil, fmt.Errorf("%s is %w: %s: %w", dir, ErrNotSweepDir, PlanFile, err)
	} else if plan.Schema != 1 {
		return nil, fmt.Errorf("%s is %w: %s: schema %d, want 1", dir, ErrNotSweepDir, PlanFile, plan.Schema)
	}
	// The plan is written once, when the sweep starts: read it, then
	// take the lock (a directory that is no sweep gets no lock file).
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for i := range plan.Points {
		sc, err := scenarios.Parse(fmt.Sprintf("%s point %d", filepath.Join(dir, PlanFile), i), []byte(plan.Points[i].Source))
		if err != nil {
			return nil, err
		}
		plan.Points[i].Scenario = sc
	}
	if err := checkPoints(plan.Points, opts.Run); err != nil {
		return nil, err
	}
	return run(ctx, dir, &plan, opts)
}

// checkPoints fails early, before anything runs, when a point cannot run
// here: it needs a cell and cells cannot be made, a VM the VM placement
// cannot boot, or its target.address is refused (the check every run
// makes, for every point, so that a sweep never runs point 0 and then
// refuses point 1).
func checkPoints(points []scenarios.Point, o runner.Options) error {
	cells := false
	for _, p := range points {
		cells = cells || p.Scenario.Cell != nil
		if p.Scenario.VM != nil {
			if err := (vmlab.Placement{}).Check(p.Scenario); err != nil {
				return err
			}
		}
		if a := p.Scenario.Target.Address; a != "" {
			if err := workers.CheckTarget(a, p.Scenario.Target.Allow, o.AllowTargets); err != nil {
				return fmt.Errorf("point %d (%s): %w", p.Index, strings.Join(p.Values, ", "), err)
			}
		}
	}
	if cells {
		return lab.Check()
	}
	return nil
}

// RunDir names a repetition's run directory inside the sweep's.
func RunDir(point, rep int) string {
	return filepath.Join(RunsDir, fmt.Sprintf("p%03d-r%d", point, rep))
}

func run(ctx context.Context, dir string, plan *Plan, opts Options) (*schema.SweepSummary, error) {
	out := &schema.SweepSummary{Name: plan.Name, Axes: plan.Axes, Repetitions: plan.Repetitions, Columns: plan.Columns}
	out.Notes = notes(plan)
	if opts.Warn != nil {
		for _, n := range out.Notes {
			opts.Warn(n)
		}
	}
	type job struct {
		p, rep int // index into plan.Points, repetition (1-based)
	}
	sums := make([][]*schema.Summary, len(plan.Points))
	dirs := make([][]string, len(plan.Points))
	var jobs []job
	var runErr error
	for pi, p := range plan.Points {
		sums[pi] = make([]*schema.Summary, plan.Repetitions)
		for rep := 1; rep <= plan.Repetitions; rep++ {
			rel := RunDir(p.Index, rep)
			dirs[pi] = append(dirs[pi], rel)
			s, err := record.ReadSummary(filepath.Join(dir, rel))
			if err == nil && s.Status != schema.StatusInterrupted && s.Status != schema.StatusPartial {
				sums[pi][rep-1] = s // finished before: keep
				continue
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, record.ErrNotRun) && runErr == nil {
				// A summary that is there but unreadable (another version's
				// schema, a permission) is not removed and run again.
				runErr = fmt.Errorf("point %d repetition %d: %w", p.Index, rep, err)
			}
			jobs = append(jobs, job{pi, rep})
		}
	}
	var mu sync.Mutex // runErr
	do := func(j job) {
		p := plan.Points[j.p]
		mu.Lock()
		stop := ctx.Err() != nil || runErr != nil
		mu.Unlock()
		if stop {
			return
		}
		s, err := runOne(ctx, filepath.Join(dir, dirs[j.p][j.rep-1]), p.Scenario, opts.Run)
		if err != nil {
			mu.Lock()
			if runErr == nil {
				runErr = fmt.Errorf("point %d repetition %d: %w", p.Index, j.rep, err)
			}
			mu.Unlock()
		}
		sums[j.p][j.rep-1] = s
		if s != nil && opts.Done != nil {
			opts.Done(p.Index, j.rep, s, dirs[j.p][j.rep-1])
		}
	}
	if opts.Parallel <= 1 {
		for _, j := range jobs {
			do(j)
		}
	} else {
		var g errgroup.Group
		g.SetLimit(opts.Parallel)
		for _, j := range jobs {
			g.Go(func() error { do(j); return nil })
		}
		_ = g.Wait()
	}
	for pi, p := range plan.Points {
		pt := schema.SweepPointOf(p.Index, p.Values, sums[pi], dirs[pi])
		if len(plan.Columns) > 0 {
			pt.Columns = schema.ColumnStats(plan.Columns, sums[pi])
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

// writeSummary writes the sweep's summary.json and summary.csv, each
// atomically (a reader, or a resume, never sees half of one).
func writeSummary(dir string, s *schema.SweepSummary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := record.WriteFileAtomic(filepath.Join(dir, SummaryJSON), append(b, '\n')); err != nil {
		return err
	}
	var csv bytes.Buffer
	if err := report.SweepCSV(&csv, s); err != nil {
		return err
	}
	return record.WriteFileAtomic(filepath.Join(dir, SummaryCSV), csv.Bytes())
}

// notes says what makes a sweep's runs depend on each other: port
// exhaustion on the host shares the host's TIME_WAITs between runs (a
// port a run used stays held for up to 60 s, loopback ones until
// tcp_tw_reuse frees them after 1 s), so a point's ports may already be
// held when it starts (issue 9 item 8: a 100-port point gave 49.5 ops
// before failure). In a lab cell each run has a fresh namespace.
func notes(plan *Plan) []string {
	runs, shared := 0, false
	for _, p := range plan.Points {
		runs += plan.Repetitions
		if sc := p.Scenario; sc != nil && sc.Kind == scenarios.KindPortExhaustion && sc.Cell == nil {
			shared = true
		}
	}
	if !shared || runs < 2 {
		return nil
	}
	return []string{"port exhaustion on the host: the runs share the host's TIME_WAITs (a port stays held up to 60 s after its run, a loopback one until tcp_tw_reuse frees it after 1 s), so a run may start with ports of its range already held and fail sooner; each run's prediction counts the ports held when it starts. Add `cell: {}` to the scenario for independent repetitions, each in a fresh namespace."}
}
