// Package workers runs scenarios: worker pools driven by a closed loop or
// an open-model pacer, the dialers and built-in targets they use, and the
// classification of every failed call into (phase, class, raw code).
//
// Run is synchronous: it returns only after every goroutine it started has
// exited and every socket it opened is closed.
package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/workers/errclass"

	"golang.org/x/sync/errgroup"

	"github.com/nobufs/nobufs/scenarios"
)

// Options are the caller's side of a run: where the timeline goes, who
// sees progress, which non-loopback targets are allowed.
type Options struct {
	// Timeline receives the NDJSON timeline: a start line, one sample a
	// second, and an end line. Each line is one Write call, so a writer
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
	// HostState, when set, is called once per sample from the sampler
	// goroutine; what it returns is written as the sample's "host" field
	// (socket states, kernel counters… of the host or the lab cell).
	HostState func() any
	// Cell, when set, runs the target and the load inside a lab cell
	// (see Cell); package lab builds it.
	Cell *Cell
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

// ErrTargetRefused is returned (wrapped) when a target address is outside
// loopback and the allowed prefixes.
var ErrTargetRefused = errors.New("target refused")

// runState is what workers share: read-mostly configuration, the global
// operation counter, and the rare first-failure record (lock-free: a kind
// may read it on every operation).
type runState struct {
	sc      *scenarios.Scenario
	start   time.Time
	issued  atomic.Uint64
	dropped atomic.Uint64
	failSet map[errclass.Class]bool
	workers []*Worker
	// target is the built-in target of the run; nil for an external one.
	target *Target
	cell   *Cell

	// ttf is the earliest failure of a failure.classes class; a stored
	// *Failure is never modified.
	ttf       atomic.Pointer[schema.Failure]
	onFailure func()
}

func (rs *runState) totalOK() uint64 {
	var n uint64
	for _, w := range rs.workers {
		n += w.ok.Load()
	}
	return n
}

// firstError is called the first time a worker sees an ErrorKey.
func (rs *runState) firstError(k errclass.ErrorKey, at time.Duration, op uint64) {
	if !rs.failSet[k.Class] {
		return
	}
	f := &schema.Failure{Class: k.Class, Phase: k.Phase, Code: k.Code, Name: errclass.WSAName(k.Code), AtSec: at.Seconds(), Op: op, OKBefore: rs.totalOK()}
	for {
		cur := rs.ttf.Load()
		if cur != nil && f.AtSec >= cur.AtSec {
			return
		}
		if rs.ttf.CompareAndSwap(cur, f) {
			if cur == nil && rs.onFailure != nil {
				rs.onFailure()
			}
			return
		}
	}
}

func (rs *runState) timeToFailure() *schema.Failure {
	p := rs.ttf.Load()
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
	sampleEvery := opts.SampleEvery
	if sampleEvery <= 0 {
		sampleEvery = time.Second
	}
	sum := &schema.Summary{
		Schema:   schema.SchemaVersion,
		Tool:     schema.Tool{Name: "nobufs", Version: opts.ToolVersion},
		Scenario: sc,
		Latency:  map[string]schema.Latency{},
		Socket:   schema.SocketReport{Requested: sc.Socket},
	}
	cell := opts.Cell
	var enterClient func() error
	if cell != nil {
		enterClient = cell.EnterClient
		if sc.Target.Builtin == "" {
			return nil, fmt.Errorf("cell %s: a cell runs the built-in target in its target namespace; target.address cannot be used in a cell", cell.Name)
		}
	}
	// The settings in force are the client side's (the cell's when there is one).
	if err := onThreadIn(enterClient, func() { sum.Settings = hostfacts.ReadSettings() }); err != nil {
		return nil, fmt.Errorf("cell %s: client side: %w", cell.Name, err)
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

	var tgt *Target
	addr := sc.Target.Address
	if sc.Target.Builtin != "" {
		if cell != nil {
			tgt, err = startCellTarget(cell, sc.Target, TargetOptionsFor(sc))
		} else {
			tgt, err = StartTargetWith(sc.Target.Builtin, sc.Target.Listen, TargetOptionsFor(sc))
		}
		if err != nil {
			return nil, fmt.Errorf("start built-in target %s: %w", sc.Target.Builtin, err)
		}
		defer tgt.Close()
		addr = tgt.Addr().String()
		sum.Target = schema.TargetInfo{Mode: sc.Target.Builtin, Address: addr}
	} else {
		if err := CheckTarget(addr, sc.Target.Allow, opts.AllowTargets); err != nil {
			return nil, err
		}
		sum.Target = schema.TargetInfo{Mode: "external", Address: addr}
	}

	rs := &runState{sc: sc, failSet: map[errclass.Class]bool{}, target: tgt, cell: cell}
	for _, c := range sc.Failure.Classes {
		rs.failSet[errclass.Class(c)] = true
	}
	var k kind
	if err := onThreadIn(enterClient, func() { k, err = newKind(sc, addr, rs) }); err != nil {
		return nil, fmt.Errorf("cell %s: client side: %w", cell.Name, err)
	}
	if err != nil {
		return nil, err
	}
	defer k.close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Two ways to end a run: stop cancels every operation in flight (the
	// duration is up, the failure came, the caller interrupted); drain
	// stops issuing new operations and lets those in flight finish
	// (max_ops reached, the last open-model stage ended). The first
	// reason given is the one recorded.
	var (
		reasonMu   sync.Mutex
		stopReason string
		drainCh    = make(chan struct{})
	)
	setReason := func(reason string) bool {
		reasonMu.Lock()
		defer reasonMu.Unlock()
		if stopReason != "" {
			return false
		}
		stopReason = reason
		return true
	}
	stop := func(reason string) {
		setReason(reason)
		cancel()
	}
	drain := func(reason string) {
		if setReason(reason) {
			close(drainCh)
		}
	}
	draining := func() bool {
		select {
		case <-drainCh:
			return true
		default:
			return false
		}
	}
	var afterFailure *time.Timer
	var afterMu sync.Mutex
	rs.onFailure = func() {
		if !sc.Stop.OnFailure {
			return
		}
		afterMu.Lock()
		defer afterMu.Unlock()
		if sc.Stop.AfterFailure <= 0 {
			stop(schema.StopFailure)
			return
		}
		afterFailure = time.AfterFunc(sc.Stop.AfterFailure.D(), func() { stop(schema.StopFailure) })
	}
	defer func() {
		afterMu.Lock()
		defer afterMu.Unlock()
		if afterFailure != nil {
			afterFailure.Stop()
		}
	}()

	rs.workers = make([]*Worker, sc.Load.Workers)
	for i := range rs.workers {
		rs.workers[i] = newWorker(i, rs)
	}

	rs.start = time.Now()
	sum.Started = rs.start.UTC()
	tl := &timeline{w: opts.Timeline}
	tl.write(schema.StartLine{Type: "start", Schema: schema.SchemaVersion, Tool: sum.Tool, Scenario: sc, Started: sum.Started, Target: sum.Target, Settings: sum.Settings})

	// Cell.Started promises the target listens and the load has not started.
	if cell != nil && cell.Started != nil {
		cell.Started(tgt)
	}
	durTimer := time.AfterFunc(sc.Stop.Duration.D(), func() { stop(schema.StopDuration) })
	defer durTimer.Stop()

	var g errgroup.Group
	// In a cell each worker goroutine runs on its own thread inside the
	// client side for the whole run and exits without unlocking it, so the
	// runtime discards the thread (see Cell).
	var enterErr error
	var enterOnce sync.Once
	enter := func() bool {
		if enterClient == nil {
			return true
		}
		runtime.LockOSThread()
		if err := enterClient(); err != nil {
			enterOnce.Do(func() { enterErr = err })
			stop(schema.StopError)
			return false
		}
		return true
	}
	claim := func() (uint64, bool) {
		idx := rs.issued.Add(1)
		if idx > sc.Stop.MaxOps {
			drain(schema.StopMaxOps)
			return 0, false
		}
		return idx, true
	}
	if sc.Load.Model == scenarios.ModelOpen {
		work := make(chan struct{})
		// The dispatcher starts once every worker goroutine runs: an early
		// arrival must not be dropped because the workers were not started
		// yet (arrivals due meanwhile are issued at once, not lost).
		var ready sync.WaitGroup
		ready.Add(len(rs.workers))
		for _, w := range rs.workers {
			g.Go(func() error {
				ready.Done()
				if !enter() {
					for range work {
					}
					return nil
				}
				for range work {
					idx, ok := claim()
					if !ok {
						return nil
					}
					k.op(runCtx, w, idx)
				}
				return nil
			})
		}
		g.Go(func() error {
			defer close(work)
			ready.Wait()
			dispatch(runCtx, sc.Load, rs, work, drainCh, drain)
			return nil
		})
	} else {
		for _, w := range rs.workers {
			g.Go(func() error {
				if !enter() {
					return nil
				}
				for runCtx.Err() == nil && !draining() {
					idx, ok := claim()
					if !ok {
						return nil
					}
					k.op(runCtx, w, idx)
				}
				return nil
			})
		}
	}

	samplerDone := make(chan struct{})
	workersDone := make(chan struct{})
	smp := &sampler{rs: rs, tl: tl, kind: k, hostState: opts.HostState, progress: opts.Progress, prevErrs: map[errclass.ErrorKey]*errStat{}}
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				smp.sample(sum)
			case <-workersDone:
				smp.sample(sum)
				return
			}
		}
	}()
	_ = g.Wait()
	// A drain leaves runCtx live; end it now so helpers a kind started
	// with it (the dead-peer reaper) end before the kind reports.
	cancel()
	close(workersDone)
	<-samplerDone

	if enterErr != nil {
		return nil, fmt.Errorf("cell %s: worker cannot enter the client side: %w", cell.Name, enterErr)
	}
	elapsed := time.Since(rs.start)
	sum.Ended = time.Now().UTC()
	reasonMu.Lock()
	reason := stopReason
	reasonMu.Unlock()
	sum.ElapsedSec = elapsed.Seconds()
	if reason == "" {
		reason = schema.StopInterrupted
		if ctx.Err() == nil {
			reason = schema.StopError
		}
	}
	sum.StopReason = reason

	all := map[errclass.ErrorKey]*errStat{}
	connect, op := newHist(), newHist()
	for _, w := range rs.workers {
		w.snapshotErrors(all)
		connect.Merge(w.connectHist)
		op.Merge(w.opHist)
		sum.Ops.OK += w.ok.Load()
		sum.Ops.Failed += w.failed.Load()
		sum.BytesOut += w.bytesOut.Load()
		sum.BytesIn += w.bytesIn.Load()
	}
	sum.Ops.Issued = min(rs.issued.Load(), sc.Stop.MaxOps)
	sum.Ops.Aborted = sum.Ops.Issued - min(sum.Ops.Issued, sum.Ops.OK+sum.Ops.Failed)
	sum.Ops.Dropped = rs.dropped.Load()
	sum.Errors, sum.Classes = errorCounts(all)
	sum.Latency["connect"] = latencyOf(connect)
	sum.Latency["op"] = latencyOf(op)
	sum.TimeToFailure = rs.timeToFailure()
	k.report(sum)
	if tgt != nil {
		tgt.Close()
		sum.Target.Accepted, sum.Target.ServerErrors = tgt.Stats()
		sum.Target.BytesRead, sum.Target.Datagrams, sum.Target.Vanished = tgt.Traffic()
	}
	sum.Unmet = schema.CheckExpectations(sc.Expect, sum.TimeToFailure)
	switch {
	case reason == schema.StopInterrupted:
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

// dispatch issues open-model arrivals to idle workers until ctx ends or the
// pacer stops. An arrival that finds no idle worker is dropped and counted.
func dispatch(ctx context.Context, l scenarios.Load, rs *runState, work chan<- struct{}, drainCh <-chan struct{}, drain func(string)) {
	var p Pacer
	switch {
	case len(l.Stages) > 0:
		rp := RampPacer{Start: l.Rate}
		for _, s := range l.Stages {
			rp.Stages = append(rp.Stages, Stage{Duration: s.Duration.D(), Target: s.Target})
		}
		p = rp
	case l.Arrival == scenarios.ArrivalPoisson:
		p = NewPoissonPacer(l.Rate, l.Seed)
	default:
		p = ConstantPacer{Rate: l.Rate}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var hits uint64
	for ctx.Err() == nil {
		wait, done := p.Pace(time.Since(rs.start), hits)
		if done {
			drain(schema.StopStagesDone)
			return
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-drainCh:
				return
			case <-timer.C:
			}
			continue
		}
		hits++
		select {
		case <-drainCh:
			return
		case work <- struct{}{}:
		default:
			rs.dropped.Add(1)
		}
	}
}

// timeline writes NDJSON lines, one Write per line, and keeps the first error.
type timeline struct {
	w   io.Writer
	err error
}

func (t *timeline) write(v any) {
	if t.w == nil || t.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.err = err
		return
	}
	b = append(b, '\n')
	if _, err := t.w.Write(b); err != nil {
		t.err = err
	}
}

// sampler builds the per-interval samples from the workers' counters.
type sampler struct {
	rs                                               *runState
	tl                                               *timeline
	kind                                             kind
	hostState                                        func() any
	progress                                         func(Progress)
	seq                                              int
	prevOK, prevFailed, prevDropped, prevOut, prevIn uint64
	prevErrs                                         map[errclass.ErrorKey]*errStat
	lastAt                                           time.Duration
}

func (s *sampler) sample(sum *schema.Summary) {
	now := time.Since(s.rs.start)
	var ok, failed, out, in uint64
	var open int64
	errs := map[errclass.ErrorKey]*errStat{}
	for _, w := range s.rs.workers {
		ok += w.ok.Load()
		failed += w.failed.Load()
		open += w.open.Load()
		out += w.bytesOut.Load()
		in += w.bytesIn.Load()
		w.snapshotErrors(errs)
	}
	dropped := s.rs.dropped.Load()
	s.seq++
	smp := schema.Sample{Type: "sample", Seq: s.seq, Elapsed: now.Seconds(), OK: ok - s.prevOK, Failed: failed - s.prevFailed,
		Dropped: dropped - s.prevDropped, Open: open, BytesOut: out - s.prevOut, BytesIn: in - s.prevIn}
	classes := map[errclass.Class]uint64{}
	for k, st := range errs {
		classes[k.Class] += st.count
		var prev uint64
		if p := s.prevErrs[k]; p != nil {
			prev = p.count
		}
		if st.count > prev {
			smp.Errors = append(smp.Errors, schema.ErrorDelta{Phase: k.Phase, Class: k.Class, Code: k.Code, N: st.count - prev})
		}
	}
	sortDeltas(smp.Errors)
	if s.hostState != nil {
		smp.Host = s.hostState()
	}
	if ext, ok := s.kind.(sampleExtender); ok {
		smp.Extra = ext.extendSample(now)
	}
	s.tl.write(smp)
	if open > sum.PeakOpen {
		sum.PeakOpen = open
	}
	if s.progress != nil {
		rate := 0.0
		if d := (now - s.lastAt).Seconds(); d > 0 {
			rate = float64(ok-s.prevOK) / d
		}
		s.progress(Progress{Elapsed: now, OK: ok, Failed: failed, Dropped: dropped, OKPerSec: rate, Open: open,
			Classes: classes, TimeToFailure: s.rs.timeToFailure()})
	}
	s.prevOK, s.prevFailed, s.prevDropped, s.prevOut, s.prevIn = ok, failed, dropped, out, in
	s.prevErrs = errs
	s.lastAt = now
}
