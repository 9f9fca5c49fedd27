// Package runner is the one path from a scenario to its results:
// prediction → results directory → placement → target → kind → summary.
// Every entry point (`nobufs run`, each repetition of a sweep, and in time a
// segment or a pod) runs through Run, so a fix or a newly recorded field
// reaches them all.
package runner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/nobufs/nobufs/doctor"
	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/lab/vmlab"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/segment"
	"github.com/nobufs/nobufs/watch"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/program"
	"github.com/nobufs/nobufs/workers/targets"
)

// Options are the caller's side of one run.
type Options struct {
	// Out is the results root: the run goes to Out/<scenario>/<UTC time>/.
	// Dir, when set, is the run directory itself (its parent must exist,
	// it must not); a sweep places each repetition so.
	Out, Dir string
	// Now names the run directory under Out; zero means time.Now().
	Now time.Time
	// AllowTargets lists prefixes an external target may be in besides
	// loopback (the --allow-target flag).
	AllowTargets []netip.Prefix
	// ToolVersion is recorded in the results.
	ToolVersion string
	// SampleEvery is the timeline interval; 0 means one second.
	SampleEvery time.Duration
	// HostState records the kernel's socket state in every sample
	// (Linux), in the namespace the client runs in.
	HostState bool
	// Progress, when set, is called after each sample.
	Progress func(workers.Progress)
	// Created, when set, is called with the run directory as soon as it
	// exists (a supervisor is told where the results of a crash are).
	Created func(dir string)
	// Segment, when set ("I/N", or "env" in an Indexed Job's pod), runs
	// only that segment of the scenario (package segment) into
	// Out/segments/NN/ (Dir, when set, instead). Otherwise a scenario with
	// load.segments > 1 is run as that many processes made by SegmentCmd
	// and their results merged.
	Segment    string
	SegmentCmd SegmentCommand
}

// Placements is the table of places a run can be put, first match wins:
// a lab cell when the scenario has a cell section, else this host. A new
// placement (a VM, another machine) is one implementation of
// workers.Placement and one line here.
var Placements = []struct {
	Name  string
	Wants func(sc *scenarios.Scenario) bool
	Place workers.Placement
}{
	{"cell", func(sc *scenarios.Scenario) bool { return sc.Cell != nil }, lab.Placement{}},
	{"vm", func(sc *scenarios.Scenario) bool { return sc.VM != nil }, vmlab.Placement{}},
	{"host", func(*scenarios.Scenario) bool { return true }, workers.Host{}},
}

// ErrRecord is returned (wrapped) when the results directory cannot be
// made or the summary cannot be written: an environment error, not the
// scenario's.
var ErrRecord = errors.New("results")

// Run runs sc and records it. It returns the summary and the run
// directory; the summary is returned (and written) also for an
// interrupted run. A run whose timeline or summary could not be written
// returns its summary with an error wrapping ErrRecord: the caller shows
// it (nothing computed is lost) and exits as for an environment error.
func Run(ctx context.Context, sc *scenarios.Scenario, o Options) (*schema.Summary, string, error) {
	var seg segment.Segment
	var segInfo *schema.SegmentInfo
	switch {
	case o.Segment == "" && sc.Load.Segments > 1:
		return runSegments(ctx, sc, o)
	case o.Segment != "":
		var err error
		if seg, err = segmentOf(o.Segment, sc); err != nil {
			return nil, "", err
		}
		segInfo = &schema.SegmentInfo{Index: int(seg.Lo), Count: int(seg.Den), Whole: sc}
		sc = segment.Scenario(sc, seg)
		if o.Dir == "" {
			o.Dir = filepath.Join(o.Out, record.SegmentDir(segInfo.Index))
			if err := os.MkdirAll(filepath.Dir(o.Dir), 0o755); err != nil {
				return nil, "", fmt.Errorf("%w: %w", ErrRecord, err)
			}
		}
	}
	// The prediction is made before the run opens anything, as doctor
	// would, from the facts of the host (and the cell's sysctls).
	src := doctor.Default()
	src.Kmsg = nil
	pred := doctor.Predict(sc, doctor.ReadHost(src))

	rec, err := createRecord(sc, o)
	if err != nil {
		return nil, "", err
	}
	defer rec.Close()
	if o.Created != nil {
		o.Created(rec.Dir)
	}

	wopts := workers.Options{
		Kinds:        kinds.Table,
		Targets:      targets.Table,
		Timeline:     rec.Timeline,
		Progress:     o.Progress,
		AllowTargets: o.AllowTargets,
		ToolVersion:  o.ToolVersion,
		SampleEvery:  o.SampleEvery,
		Segment:      seg,
		SegmentInfo:  segInfo,
		Dir:          rec.Dir,
		Program:      program.New,
		Watch:        watch.New,
	}
	if o.HostState {
		wopts.HostState = hostState
	}
	// Thresholds with abort are judged on every sample; the others when
	// the run ends (in the engine, beside expect).
	mon := schema.NewThresholdMonitor(sc)
	if mon != nil {
		wopts.OnSample = mon.Sample
	}
	sum, err := Place(sc).Run(ctx, sc, wopts)
	lost := errors.Is(err, workers.ErrTimeline) && sum != nil
	if err != nil && !lost {
		return nil, rec.Dir, err
	}
	mon.Mark(sum)
	sum.Prediction = &pred
	if werr := rec.WriteSummary(sum); werr != nil {
		return sum, rec.Dir, fmt.Errorf("%w: %w", ErrRecord, errors.Join(err, werr))
	}
	if lost {
		return sum, rec.Dir, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return sum, rec.Dir, nil
}

// createRecord makes the run's results directory: o.Dir, or a new one
// under o.Out named by the scenario and the start time.
func createRecord(sc *scenarios.Scenario, o Options) (*record.Run, error) {
	var rec *record.Run
	var err error
	if o.Dir != "" {
		rec, err = record.CreateDir(o.Dir, sc)
	} else {
		now := o.Now
		if now.IsZero() {
			now = time.Now()
		}
		rec, err = record.Create(o.Out, sc.Name, sc, now)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return rec, nil
}

// Place returns the placement of sc (see Placements).
func Place(sc *scenarios.Scenario) workers.Placement {
	for _, p := range Placements {
		if p.Wants(sc) {
			return p.Place
		}
	}
	return workers.Host{}
}

// hostState opens a host-state sampler in the network namespace at netns
// ("" for this process's own).
func hostState(netns string) (func() any, func(), error) {
	hs, err := hoststate.New(hoststate.Options{NetNS: netns})
	if err != nil {
		return nil, nil, err
	}
	return func() any { return hs.Sample() }, func() { hs.Close() }, nil
}
