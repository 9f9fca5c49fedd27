package workers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"
)

// fakeWatcher records a signal before the load starts and one after,
// and counts the engine's calls.
type fakeWatcher struct {
	env  *workers.WatchEnv
	wg   sync.WaitGroup
	stop chan struct{}

	mu                       sync.Mutex
	samples, reports, closes int
	failed                   []*schema.Failure
	closedAfterReport        bool
}

func (f *fakeWatcher) Sample(time.Duration) *schema.WatchSample {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples++
	return &schema.WatchSample{Probe: &schema.ProbeSample{Probes: 1, OK: 1, LastOutcome: "ok"}}
}

func (f *fakeWatcher) Failed(fl *schema.Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, fl)
}

func (f *fakeWatcher) Report(s *schema.Summary) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports++
	s.Watch = &schema.WatchReport{}
}

func (f *fakeWatcher) Close() {
	close(f.stop)
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	f.closedAfterReport = f.reports == 1
}

// TestWatcherSignalsAreFailures: a watcher's signals are errors of the
// run like a worker's — one before the load is recorded at 0, one during
// it is the time-to-failure (op 0: none) and stops the run; the watcher
// hears of the failure once, is sampled into the timeline, reports, and
// is closed last.
func TestWatcherSignalsAreFailures(t *testing.T) {
	sc := parseScenario(t, `
name: signals
kind: port-exhaustion
load: {workers: 1}
stop: {duration: 5s}
failure: {classes: [server-conn-limit]}
`)
	var fw *fakeWatcher
	opts := workers.Options{SampleEvery: 50 * time.Millisecond, Watch: func(env *workers.WatchEnv) (workers.Watcher, error) {
		fw = &fakeWatcher{env: env, stop: make(chan struct{})}
		env.Record(errclass.ErrorKey{Phase: errclass.PhaseServer, Class: errclass.ClassServerFDLow}, time.Now())
		fw.wg.Add(1)
		go func() {
			defer fw.wg.Done()
			t := time.NewTimer(300 * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				env.Record(errclass.ErrorKey{Phase: errclass.PhaseServer, Class: errclass.ClassServerConnLimit}, time.Now())
			case <-fw.stop:
			}
		}()
		return fw, nil
	}}
	r := testrun.Run(t, context.Background(), sc, opts)
	sum := r.Sum
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassServerConnLimit || f.Phase != errclass.PhaseServer || f.Op != 0 {
		t.Fatalf("time to failure = %+v, want server/server-conn-limit without an operation", f)
	}
	// The timer starts when the watcher is made, a little before the load.
	if f.AtSec < 0.2 || f.AtSec > 3 {
		t.Errorf("time to failure at %.3fs, want about 0.3 s", f.AtSec)
	}
	if sum.StopReason != schema.StopFailure {
		t.Errorf("stop reason %q, want failure", sum.StopReason)
	}
	var early *schema.ErrorCount
	for i, e := range sum.Errors {
		if e.Class == errclass.ClassServerFDLow {
			early = &sum.Errors[i]
		}
	}
	if early == nil || early.FirstAt != 0 || early.Phase != errclass.PhaseServer || early.Count != 1 {
		t.Errorf("the signal before the load: %+v, want server/server-fd-low once at 0 (errors %+v)", early, sum.Errors)
	}
	if sum.Ops.Failed != 0 {
		t.Errorf("ops failed %d: signals are not operations", sum.Ops.Failed)
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if len(fw.failed) != 1 || *fw.failed[0] != *f {
		t.Errorf("the watcher heard of %d failures (%+v), want the run's one", len(fw.failed), fw.failed)
	}
	if fw.samples == 0 || fw.reports != 1 || fw.closes != 1 || !fw.closedAfterReport {
		t.Errorf("samples %d, reports %d, closes %d (after report %v): want sampled, one report, then one close", fw.samples, fw.reports, fw.closes, fw.closedAfterReport)
	}
	var inTimeline bool
	for _, s := range r.Samples {
		if s.Watch != nil && s.Watch.Probe != nil {
			inTimeline = true
		}
	}
	if !inTimeline {
		t.Error("no timeline sample carries the watcher's sample")
	}
	if sum.Watch == nil {
		t.Error("the watcher's report is not in the summary")
	}
}

// TestProgramHook: a launched target goes through Options.Program, with a
// free port chosen for target.listen's 0, the run directory, and no
// namespace on this host; without Options.Program it cannot start.
func TestProgramHook(t *testing.T) {
	src := `
name: program-hook
kind: port-exhaustion
target: {command: {argv: [some-server]}}
load: {workers: 1}
stop: {duration: 200ms, max_ops: 5}
`
	sc := parseScenario(t, src)
	var got *workers.ProgramEnv
	opts := workers.Options{Dir: t.TempDir(), Program: func(ctx context.Context, env *workers.ProgramEnv) (workers.Target, error) {
		got = env
		return targets.Table[scenarios.TargetSink](env.Listen.String(), scenarios.TargetOptions{})
	}}
	r := testrun.Run(t, context.Background(), sc, opts)
	if got == nil {
		t.Fatal("Options.Program was not called")
	}
	if got.Listen.Port() == 0 || !got.Listen.Addr().IsLoopback() || got.Dir != opts.Dir || got.Netns != "" {
		t.Errorf("program env: listen %v, dir %q, netns %q; want a free loopback port, %q, none", got.Listen, got.Dir, got.Netns, opts.Dir)
	}
	if r.Sum.Ops.OK != 5 || r.Sum.Target.Address != got.Listen.String() {
		t.Errorf("ops ok %d to %s, want 5 to %s", r.Sum.Ops.OK, r.Sum.Target.Address, got.Listen)
	}
	_, err := workers.Run(context.Background(), parseScenario(t, src), workers.Options{Kinds: kinds.Table, Targets: targets.Table})
	if !errors.Is(err, workers.ErrNoProgram) {
		t.Errorf("without Options.Program: err %v, want ErrNoProgram", err)
	}
}
