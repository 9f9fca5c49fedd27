package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/segment"
)

// SegmentCommand makes the (unstarted) command that runs nobufs itself
// with args; cmd/nobufs gives one that re-executes its own binary. The
// command ends when ctx does (the runner interrupts it first).
type SegmentCommand func(ctx context.Context, args []string) *exec.Cmd

// SegmentArgs are the command-line arguments that run segment index of
// count of the scenario in file, writing its results to
// out/segments/NN/: what each process of a split run (and each pod of an
// Indexed Job, with "--segment env") runs.
func SegmentArgs(file, out string, index, count int, hostState bool, every time.Duration) []string {
	return []string{"run", "--quiet", "--segment", fmt.Sprintf("%d/%d", index, count), "--out", out,
		"--host-state=" + strconv.FormatBool(hostState), "--sample-every", every.String(), file}
}

// segmentWait bounds how long a segment process may take to write its
// results after it was interrupted.
const segmentWait = 30 * time.Second

// runSegments runs sc as sc.Load.Segments processes, each its share (a
// segment) into dir/segments/NN/, waits for all of them and merges their
// results into dir. Only segment 0 samples the host's state (it is the
// same host for all). A segment that fails to start or dies leaves the
// merged run partial; its error is noted.
func runSegments(ctx context.Context, sc *scenarios.Scenario, o Options) (*schema.Summary, string, error) {
	if o.SegmentCmd == nil {
		return nil, "", errors.New("load.segments: this caller cannot start segment processes")
	}
	n := sc.Load.Segments
	rec, err := createRecord(sc, o)
	if err != nil {
		return nil, "", err
	}
	dir := rec.Dir
	rec.Close() // the merge writes the run's timeline and summary
	if err := os.Mkdir(filepath.Join(dir, record.SegmentsDir), 0o755); err != nil {
		return nil, dir, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	every := o.SampleEvery
	if every <= 0 {
		every = time.Second
	}
	file := filepath.Join(dir, record.ScenarioFile)
	var cmds []*exec.Cmd
	var idx []int
	var notes []string
	for i := range n {
		args := SegmentArgs(file, dir, i, n, o.HostState && i == 0, every)
		for _, p := range o.AllowTargets {
			args = append(args, "--allow-target", p.String())
		}
		cmd := o.SegmentCmd(ctx, args)
		log, err := os.Create(filepath.Join(dir, record.SegmentsDir, fmt.Sprintf("%02d.log", i)))
		if err != nil {
			return nil, dir, fmt.Errorf("%w: %w", ErrRecord, err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = segmentWait
		if err := cmd.Start(); err != nil {
			log.Close()
			notes = append(notes, fmt.Sprintf("segment %d did not start: %v", i, err))
			continue
		}
		log.Close()
		cmds = append(cmds, cmd)
		idx = append(idx, i)
	}
	for j, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			var ee *exec.ExitError
			// 1: an expectation unmet, 130: interrupted — both wrote results.
			if errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 130) {
				continue
			}
			notes = append(notes, fmt.Sprintf("segment %d: %v (see %s/%02d.log)", idx[j], err, record.SegmentsDir, idx[j]))
		}
	}
	sum, err := record.Merge(dir)
	if sum != nil && len(notes) > 0 {
		sum.Notes = append(sum.Notes, notes...)
		if werr := record.WriteSummaryFile(dir, sum); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return sum, dir, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return sum, dir, nil
}

// segmentOf returns the segment part of the run this process is, from
// --segment ("I/N", or "env": I from $JOB_COMPLETION_INDEX, N from
// load.segments, as in a Kubernetes Indexed Job).
func segmentOf(spec string, sc *scenarios.Scenario) (segment.Segment, error) {
	if spec != "env" {
		return segment.Parse(spec)
	}
	v, ok := os.LookupEnv("JOB_COMPLETION_INDEX")
	if !ok {
		return segment.Segment{}, errors.New("--segment env: JOB_COMPLETION_INDEX is not set (an Indexed Job's pods have it)")
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return segment.Segment{}, fmt.Errorf("JOB_COMPLETION_INDEX %q: %w", v, err)
	}
	return segment.Of(i, max(sc.Load.Segments, 1))
}
