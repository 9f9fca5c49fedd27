// Package workers is the engine: it runs one scenario's operations with a
// pool of workers, driven by a closed loop or an open-model pacer, samples
// the run into the timeline every interval, and folds the workers' counts
// into the summary. What runs is plugged in through tables: the kind
// (Options.Kinds; package workers/kinds), the built-in target
// (Options.Targets; package workers/targets) and where it runs (a
// Placement: Host here, a lab cell in package lab).
//
// Run is synchronous: it returns only after every goroutine it started has
// exited and every socket it opened is closed.
package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/hostfacts"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers/errclass"
)

// Options are the caller's side of a run: the tables of kinds and
// targets, where the timeline goes, who sees progress, which
// non-loopback targets are allowed, where the run is placed.
type Options struct {
	// Kinds builds the workload of each kind (kinds.Table).
	Kinds map[string]NewKind
	// Targets starts the built-in target of each mode (targets.Table).
	Targets map[string]NewTarget
	// Timeline receives the NDJSON timeline: a start line, one sample an
	// interval, and an end line. Each line is one Write call, so a writer
	// such as an *os.File holds every complete line even if the process
	// is killed. Nil discards it.
	Timeline io.Writer
	// Progress, when set, is called after each sample, from the sampler.
	Progress func(Progress)
	// AllowTargets lists prefixes an external target may be in besides
	// loopback (the --allow-target flag).
	AllowTargets []netip.Prefix
	// ToolVersion is recorded in the results.
	ToolVersion string
	// SampleEvery is the timeline interval; 0 means one second.
	SampleEvery time.Duration
	// HostState, when set, opens a sampler of the kernel's socket state in
	// the network namespace at netns ("" is this process's own); what
	// sample returns is written as each timeline sample's "host" field.
	// closeFn is called when the run ends.
	HostState func(netns string) (sample func() any, closeFn func(), err error)
	// Namespaces, when set, runs the target and the load in a pair of
	// network namespaces (a lab cell's placement sets it).
	Namespaces *Namespaces
	// Started, when set, is called once the target listens and before the
	// load starts, with the built-in target (nil for an external one), for
	// faults such as killing it. It must not block.
	Started func(Target)
	// RunDir is the run's results directory, where a placement may keep
	// files of its own (a VM's console log); empty when there is none.
	RunDir string
}

// Progress is a live view of a run, for a progress line.
type Progress struct {
	Elapsed  time.Duration
	OK       uint64
	Failed   uint64
	Dropped  uint64
	OKPerSec float64
	Open     int64
	// Classes counts errors by class so far.
	Classes map[errclass.Class]uint64
	// TimeToFailure is set once a failure class has occurred.
	TimeToFailure *schema.Failure
}

// run is what workers share: read-mostly configuration, the global
// operation counter, the open-connection gauge and the rare first-failure
// record (lock-free: a kind may read it on every operation).
type run struct {
	sc      *scenarios.Scenario
	ns      *Namespaces
	start   time.Time
	issued  atomic.Uint64
	dropped atomic.Uint64
	// open counts connections open now; peak is the most at once in the
	// run, ivPeak since the last sample (the sampler resets it).
	open, peak, ivPeak atomic.Int64
	failSet            map[errclass.Class]bool
	workers            []*Worker

	// ttf is the earliest failure of a failure.classes class; a stored
	// *Failure is never modified.
	ttf       atomic.Pointer[schema.Failure]
	onFailure func()
}

// enterClient is the function that moves a thread to the client side, nil
// on the host.
func (r *run) enterClient() func() error {
	if r.ns == nil {
		return nil
	}
	return r.ns.EnterClient
}

// opened counts one connection opened and raises the peaks.
func (r *run) opened() {
	n := r.open.Add(1)
	for _, p := range []*atomic.Int64{&r.peak, &r.ivPeak} {
		for cur := p.Load(); n > cur && !p.CompareAndSwap(cur, n); cur = p.Load() {
		}
	}
}

func (r *run) totalOK() uint64 {
	var n uint64
	for _, w := range r.workers {
		n += w.ok.Load()
	}
	return n
}

// firstError is called the first time a worker sees an ErrorKey.
func (r *run) firstError(k errclass.ErrorKey, at time.Duration, op uint64) {
	if !r.failSet[k.Class] {
		return
	}
	f := &schema.Failure{Class: k.Class, Phase: k.Phase, Code: k.Code, Name: errclass.WSAName(k.Code), AtSec: at.Seconds(), Op: op, OKBefore: r.totalOK()}
	for {
		cur := r.ttf.Load()
		if cur != nil && f.AtSec >= cur.AtSec {
			return
		}
		if r.ttf.CompareAndSwap(cur, f) {
			if cur == nil && r.onFailure != nil {
				r.onFailure()
			}
			return
		}
	}
}

func (r *run) timeToFailure() *schema.Failure {
	p := r.ttf.Load()
	if p == nil {
		return nil
	}
	f := *p
	return &f
}

// Run runs one scenario to its end and returns its summary. The summary is
// returned, with Status set, also when the run was interrupted through ctx;
// err is set only when the run could not start or the harness broke.
func Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*schema.Summary, error) {
	newKind := opts.Kinds[sc.Kind]
	if newKind == nil {
		return nil, fmt.Errorf("kind %q: the engine has no constructor for it", sc.Kind)
	}
	r := &run{sc: sc, ns: opts.Namespaces, failSet: map[errclass.Class]bool{}}
	for _, c := range sc.Failure.Classes {
		r.failSet[errclass.Class(c)] = true
	}
	sum := &schema.Summary{
		Schema:   schema.SchemaVersion,
		Tool:     schema.Tool{Name: "nobufs", Version: opts.ToolVersion},
		Scenario: sc,
		Latency:  map[string]schema.Latency{},
		Socket:   schema.SocketReport{Requested: sc.Socket},
	}
	where := func(err error) error { return err }
	if ns := r.ns; ns != nil {
		where = func(err error) error { return fmt.Errorf("cell %s: %w", ns.Name, err) }
		if sc.Target.Builtin == "" {
			return nil, where(errors.New("a cell runs the built-in target in its target namespace; target.address cannot be used in a cell"))
		}
	}
	// The settings in force are the client side's (the cell's when there is one).
	if err := onThreadIn(r.enterClient(), func() { sum.Settings = hostfacts.ReadSettings() }); err != nil {
		return nil, where(fmt.Errorf("client side: %w", err))
	}
	if runtime.GOOS != "linux" && sc.Socket.UserTimeout > 0 {
		return nil, errors.New("socket.user_timeout (TCP_USER_TIMEOUT) is Linux-only")
	}
	restore, err := applyLimits(sc.Limits)
	if err != nil {
		return nil, err
	}
	defer restore()
	if sc.Limits.NoFile > 0 {
		sum.Settings.Rlimits["nofile_in_run"] = hostfacts.Rlimit{Soft: sc.Limits.NoFile, Hard: sum.Settings.Rlimits["nofile"].Hard}
	}

	tgt, addr, err := startTarget(sc, opts, r)
	if err != nil {
		return nil, err
	}
	if tgt != nil {
		defer tgt.Close()
		sum.Target = tgt.Info()
	} else {
		sum.Target = schema.TargetInfo{Mode: "external", Address: addr}
	}

	env := &Env{Scenario: sc, Addr: addr, Target: tgt, run: r}
	var k Kind
	if err := onThreadIn(r.enterClient(), func() { k, err = newKind(env) }); err != nil {
		return nil, where(fmt.Errorf("client side: %w", err))
	}
	if err != nil {
		return nil, err
	}
	defer k.Close()

	var hostState func() any
	if opts.HostState != nil {
		path := ""
		if r.ns != nil {
			path = r.ns.ClientPath
		}
		sample, closeFn, err := opts.HostState(path)
		if err != nil {
			return nil, where(fmt.Errorf("host state: %w", err))
		}
		if closeFn != nil {
			defer closeFn()
		}
		hostState = sample
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := newStopper(cancel)
	var afterFailure *time.Timer
	var afterMu sync.Mutex
	r.onFailure = func() {
		if !sc.Stop.OnFailure {
			return
		}
		afterMu.Lock()
		defer afterMu.Unlock()
		if sc.Stop.AfterFailure <= 0 {
			st.stop(schema.StopFailure)
			return
		}
		afterFailure = time.AfterFunc(sc.Stop.AfterFailure.D(), func() { st.stop(schema.StopFailure) })
	}
	defer func() {
		afterMu.Lock()
		defer afterMu.Unlock()
		if afterFailure != nil {
			afterFailure.Stop()
		}
	}()

	r.workers = make([]*Worker, sc.Load.Workers)
	for i := range r.workers {
		r.workers[i] = newWorker(i, r)
	}

	r.start = time.Now()
	sum.Started = r.start.UTC()
	tl := &timeline{w: opts.Timeline}
	tl.write(schema.StartLine{Type: "start", Schema: schema.SchemaVersion, Tool: sum.Tool, Scenario: sc, Started: sum.Started, Target: sum.Target, Settings: sum.Settings})

	// Started promises the target listens and the load has not started.
	if opts.Started != nil {
		opts.Started(tgt)
	}
	durTimer := time.AfterFunc(sc.Stop.Duration.D(), func() { st.stop(schema.StopDuration) })
	defer durTimer.Stop()

	smp := &sampler{r: r, tl: tl, kind: k, hostState: hostState, progress: opts.Progress, prevErrs: map[errclass.ErrorKey]*errStat{}}
	enterErr := drive(runCtx, r, k, st, smp, opts.SampleEvery)
	if enterErr != nil {
		return nil, where(fmt.Errorf("worker cannot enter the client side: %w", enterErr))
	}

	summarise(ctx, r, st, sum)
	k.Report(sum)
	if tgt != nil {
		tgt.Close()
		sum.Target = tgt.Info()
	}
	sum.Unmet = schema.CheckExpectations(sc.Expect, sum.TimeToFailure)
	switch {
	case sum.StopReason == schema.StopInterrupted:
		sum.Status = schema.StatusInterrupted
	case len(sum.Unmet) > 0:
		sum.Status = schema.StatusFailed
	default:
		sum.Status = schema.StatusPassed
	}
	tl.write(schema.EndLine{Type: "end", Status: sum.Status, StopReason: sum.StopReason, Elapsed: sum.ElapsedSec, TimeToFailure: sum.TimeToFailure})
	if tl.err != nil {
		sum.Notes = append(sum.Notes, "timeline: "+tl.err.Error())
	}
	return sum, nil
}

// startTarget starts the scenario's built-in target (in the target
// namespace when the run has one) and returns it with the address the load
// goes to; for an external target it checks the address is allowed and
// returns a nil Target.
func startTarget(sc *scenarios.Scenario, opts Options, r *run) (Target, string, error) {
	if sc.Target.Builtin == "" {
		addr := sc.Target.Address
		if err := CheckTarget(addr, sc.Target.Allow, opts.AllowTargets); err != nil {
			return nil, "", err
		}
		return nil, addr, nil
	}
	newTarget := opts.Targets[sc.Target.Builtin]
	if newTarget == nil {
		return nil, "", fmt.Errorf("target mode %q: the engine has no constructor for it", sc.Target.Builtin)
	}
	ap, err := netip.ParseAddrPort(sc.Target.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("listen address %q: %w", sc.Target.Listen, err)
	}
	o := scenarios.TargetOptionsFor(sc)
	var tgt Target
	if ns := r.ns; ns != nil {
		listen := netip.AddrPortFrom(ns.TargetAddr, ap.Port()).String()
		if err := onThreadIn(ns.EnterTarget, func() { tgt, err = newTarget(listen, o) }); err != nil {
			return nil, "", fmt.Errorf("cell %s: target side: %w", ns.Name, err)
		}
	} else {
		if !ap.Addr().IsLoopback() {
			return nil, "", fmt.Errorf("listen address %q: %w: built-in targets listen on loopback only", sc.Target.Listen, ErrTargetRefused)
		}
		tgt, err = newTarget(sc.Target.Listen, o)
	}
	if err != nil {
		return nil, "", fmt.Errorf("start built-in target %s: %w", sc.Target.Builtin, err)
	}
	return tgt, tgt.Addr().String(), nil
}

// summarise folds the workers' counts, histograms and errors into sum,
// with the stop reason and the time-to-failure.
func summarise(ctx context.Context, r *run, st *stopper, sum *schema.Summary) {
	sum.Ended = time.Now().UTC()
	sum.ElapsedSec = time.Since(r.start).Seconds()
	sum.StopReason = st.reason()
	if sum.StopReason == "" {
		sum.StopReason = schema.StopInterrupted
		if ctx.Err() == nil {
			sum.StopReason = schema.StopError
		}
	}
	var t schema.Tally
	all := map[errclass.ErrorKey]*errStat{}
	connect, op := schema.NewHist(), schema.NewHist()
	for _, w := range r.workers {
		w.snapshotErrors(all)
		connect.Merge(w.connectHist)
		op.Merge(w.opHist)
		t.Ops.OK += w.ok.Load()
		t.Ops.Failed += w.failed.Load()
		t.BytesOut += w.bytesOut.Load()
		t.BytesIn += w.bytesIn.Load()
	}
	for k, e := range all {
		t.AddError(k, e.count, e.firstAt.Seconds(), e.firstOp)
	}
	t.Ops.Issued = min(r.issued.Load(), r.sc.Stop.MaxOps)
	t.Ops.Aborted = t.Ops.Issued - min(t.Ops.Issued, t.Ops.OK+t.Ops.Failed)
	t.Ops.Dropped = r.dropped.Load()
	t.PeakOpen = r.peak.Load()
	t.Fill(sum)
	sum.Latency["connect"] = schema.LatencyOf(connect)
	sum.Latency["op"] = schema.LatencyOf(op)
	sum.TimeToFailure = r.timeToFailure()
}
