// Package watch watches the server's side of a run beside the load —
// the signals a user otherwise finds only in the server's own log,
// redis-cli INFO, ss or dmesg — and records each in the timeline and, as
// a failure class with its time, in the run's errors (workers.WatchEnv's
// Record):
//
//   - the server's process (target.watch.pid, or a launched target's):
//     its descriptors against its RLIMIT_NOFILE, RSS, threads, and its
//     network namespace's TCP sockets by state, every sample, and once
//     more the moment the run's failure is recorded;
//   - its log (the launched program's output, target.watch.log) through
//     rules — the scenario's, then a known server's — each mapping a line
//     to a server class (phase server);
//   - the kernel log (/dev/kmsg: "Possible SYN flooding" on the target's
//     port, "TCP: out of memory", "too many orphaned sockets"…, phase
//     kernel);
//   - its listener's accept queue against its backlog (sock_diag in its
//     namespace) when it listens on this host, and the counters of that
//     namespace (ListenOverflows, TCPReqQFullDoCookies…) with its TCP
//     states (SYN_RECV);
//   - the availability probe (target.probe): every interval one fresh
//     connection with the scenario's payload and expect, its outcome and
//     latency; a failed probe is class unavailable (phase probe).
//
// New is workers.NewWatcher.
package watch

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/lab/sut"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/wire"
)

// Watcher is the server's side of one run (workers.Watcher).
type Watcher struct {
	env  *workers.WatchEnv
	prog workers.Program
	// addr is the target's address; local says its listener may be on
	// this host (a launched or built-in target, or an external one found
	// listening here).
	addr  netip.AddrPort
	local bool

	// procMu guards pids, proc, side and sideReport: the sampler and the
	// failure snapshot both read the process and its namespace.
	procMu sync.Mutex
	pids   *sut.PIDWatch
	proc   *schema.ProcReport

	logs       *sut.LogWatch
	logSources []string
	prevLogs   map[string]uint64

	kmsg       *sut.KmsgWatch
	kernel     *schema.KernelReport
	prevKernel map[string]uint64

	diag   *sut.Diag
	listen *schema.ListenReport

	side       *hoststate.Sampler
	sideReport *schema.TargetSideReport

	probe *prober

	exitSeen bool
	done     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	closed   bool
}

var _ workers.Watcher = (*Watcher)(nil)

// New builds the watchers a run's scenario and target call for; nil when
// there is nothing to watch. On error nothing is left open.
func New(env *workers.WatchEnv) (w workers.Watcher, err error) {
	sc := env.Scenario
	x := &Watcher{env: env, done: make(chan struct{}), prevLogs: map[string]uint64{}, prevKernel: map[string]uint64{}}
	defer func() {
		if err != nil {
			x.stop()
			x.Close()
			w = nil
		}
	}()
	x.prog, _ = env.Target.(workers.Program)
	if ap, perr := netip.ParseAddrPort(env.Addr); perr == nil {
		x.addr = ap
	}
	x.local = env.Target != nil || x.addr.Addr().IsLoopback()

	if err := x.openProc(sc); err != nil {
		return nil, err
	}
	if err := x.openLogs(sc); err != nil {
		return nil, err
	}
	if sc.Target.Watch.Kernel {
		x.openKernel()
	}
	if x.addr.IsValid() {
		x.openListen()
	}
	// The server's namespace: the cell's target side, else the watched
	// process's, else this host's (a local target's listener is here).
	if netns := x.sideNetns(sc); x.local || x.pids != nil {
		if s, err := hoststate.New(hoststate.Options{NetNS: netns}); err == nil {
			x.side = s
			x.sideReport = &schema.TargetSideReport{Netns: netns, Counters: map[string]uint64{}, PeakTCP: map[string]int{}}
		}
	}
	if sc.Target.Probe != nil {
		p, err := newProber(env, x.done, &x.wg)
		if err != nil {
			return nil, err
		}
		x.probe = p
	}
	if x.prog != nil {
		x.wg.Add(1)
		go x.watchExit()
	}
	if x.pids == nil && x.logs == nil && x.kmsg == nil && x.diag == nil && x.side == nil && x.probe == nil && x.prog == nil {
		return nil, nil
	}
	return x, nil
}

// sideNetns is the path of the server's network namespace for the
// target-side sampler ("" = this process's own).
func (x *Watcher) sideNetns(sc *scenarios.Scenario) string {
	switch {
	case x.env.TargetNetns != "":
		return x.env.TargetNetns
	case x.prog == nil && sc.Target.Watch.PID != 0:
		return "/proc/" + strconv.Itoa(sc.Target.Watch.PID) + "/ns/net"
	}
	return ""
}

// openProc watches target.watch.pid or the launched program.
func (x *Watcher) openProc(sc *scenarios.Scenario) error {
	pid := sc.Target.Watch.PID
	if x.prog != nil {
		pid = x.prog.PID()
	}
	if pid == 0 {
		return nil
	}
	p, err := sut.WatchPID(pid)
	if err != nil {
		if errors.Is(err, sut.ErrUnsupported) && x.prog == nil {
			return fmt.Errorf("target.watch.pid: %w", err)
		}
		return fmt.Errorf("watch pid %d: %w", pid, err)
	}
	p.NoSockets() // counted by sock_diag in its namespace (the side sampler)
	x.pids = p
	x.proc = &schema.ProcReport{PID: pid, PeakTCP: map[string]int{}}
	return nil
}

// openLogs follows the launched program's output and target.watch.log
// through the scenario's rules and the known server's.
func (x *Watcher) openLogs(sc *scenarios.Scenario) error {
	var rules []sut.Rule
	for i, r := range sc.Target.Watch.Rules {
		re, err := regexp.Compile(r.Match)
		if err != nil {
			return fmt.Errorf("target.watch.rules[%d]: %w", i, err)
		}
		rules = append(rules, sut.Rule{Pattern: re, Class: r.Class})
	}
	if x.prog != nil {
		for _, r := range x.prog.LogRules() {
			rules = append(rules, sut.Rule{Pattern: r.Pattern, Class: r.Class})
		}
	}
	if len(rules) == 0 {
		return nil
	}
	lw, err := sut.NewLogWatch(rules)
	if err != nil {
		return err
	}
	x.logs = lw
	lw.SetOnMatch(func(m sut.MatchedLine) {
		x.env.Record(errclass.ErrorKey{Phase: errclass.PhaseServer, Class: errclass.Class(m.Class)}, m.Time)
	})
	if path := sc.Target.Watch.Log; path != "" {
		if err := lw.Follow(path, false); err != nil {
			return fmt.Errorf("target.watch.log: %w", err)
		}
		x.logSources = append(x.logSources, path)
	}
	if x.prog != nil {
		x.logSources = append(x.logSources, "the program's output")
		x.prog.Lines(func(l workers.ProgramLine) { lw.Feed(l.Text, l.Time) })
	}
	return nil
}

// openKernel opens /dev/kmsg with the kernel's rules, the SYN flood one
// only for the target's port; a kernel log that cannot be read is said in
// the report, not an error.
func (x *Watcher) openKernel() {
	x.kernel = &schema.KernelReport{}
	k, err := sut.OpenKmsg(kernelRules(x.addr.Port()))
	if err != nil {
		x.kernel.Unavailable = err.Error()
		return
	}
	x.kmsg = k
	k.SetOnMatch(func(m sut.MatchedLine) {
		x.env.Record(errclass.ErrorKey{Phase: errclass.PhaseKernel, Class: errclass.Class(m.Class)}, kernelTime(m.Kernel, m.Time))
	})
}

// kernelRules are the kernel log's rules, the SYN flood one only for the
// target's port (none without a port): the kernel log is the host's, and a
// flood of another listener is not this run's.
func kernelRules(port uint16) []sut.Rule {
	rules := make([]sut.Rule, 0, len(sut.KmsgRules))
	for _, r := range sut.KmsgRules {
		if r.Class == sut.ClassKernelSYNFlood {
			if port == 0 {
				continue
			}
			// "Possible SYN flooding on port 127.0.0.1:9050. Sending cookies."
			// (older kernels: "on port 9050."): only the target's port.
			r.Pattern = regexp.MustCompile(`Possible SYN flooding on port (?:\S*:)?` + strconv.Itoa(int(port)) + `\.`)
		}
		rules = append(rules, r)
	}
	return rules
}

// openListen opens sock_diag in the server's namespace for its listener.
func (x *Watcher) openListen() {
	if !x.local && !x.addr.Addr().IsLoopback() {
		// An external address may still be this host's: look once.
		if d, err := sut.OpenDiag(""); err == nil {
			qs, lerr := d.Listeners(x.addr.Port())
			if lerr != nil || pick(qs, x.addr) == nil {
				d.Close()
				return
			}
			x.diag, x.local = d, true
			x.listen = &schema.ListenReport{Addr: x.addr.String()}
		}
		return
	}
	d, err := sut.OpenDiag(x.env.TargetNetns)
	if err != nil {
		return
	}
	x.diag = d
	x.listen = &schema.ListenReport{Addr: x.addr.String()}
}

// pick is the listener of addr among qs: on addr itself, else on the
// wildcard address; nil when none.
func pick(qs []sut.ListenQueue, addr netip.AddrPort) *sut.ListenQueue {
	var wild *sut.ListenQueue
	for i := range qs {
		q := &qs[i]
		if q.Addr.Addr().Unmap() == addr.Addr().Unmap() {
			return q
		}
		if q.Addr.Addr().IsUnspecified() && wild == nil {
			wild = q
		}
	}
	return wild
}

// watchExit records the launched program's end during the run.
func (x *Watcher) watchExit() {
	defer x.wg.Done()
	select {
	case <-x.prog.Exited():
		x.env.Record(errclass.ErrorKey{Phase: errclass.PhaseServer, Class: errclass.ClassServerExited}, time.Now())
	case <-x.done:
	}
}

// Sample reads every watcher once (the sampler's goroutine).
func (x *Watcher) Sample(elapsed time.Duration) *schema.WatchSample {
	s := &schema.WatchSample{}
	got := false
	x.procMu.Lock()
	side := x.sampleSide()
	ps := x.sampleProc(elapsed, side)
	x.procMu.Unlock()
	if ps != nil {
		s.Proc, got = ps, true
	}
	if side != nil {
		s.TargetSide, got = side, true
	}
	if x.logs != nil {
		if ls, err := x.logs.Sample(); err == nil {
			s.Logs = x.deltas(ls, x.prevLogs)
			got = got || len(s.Logs) > 0
		}
	}
	if x.kmsg != nil {
		if ks, err := x.kmsg.Sample(); err == nil {
			s.Kernel = x.deltas(ks.LogSample, x.prevKernel)
			x.kernel.Missed = ks.Missed
			got = got || len(s.Kernel) > 0
		}
	}
	if ls := x.sampleListen(elapsed); ls != nil {
		s.Listen, got = ls, true
	}
	if x.probe != nil {
		s.Probe, got = x.probe.take(), true
	}
	if x.prog != nil && !x.exitSeen {
		if e, ok := x.prog.Exit(); ok {
			e.DuringRun = true
			s.Exited, x.exitSeen, got = &e, true, true
		}
	}
	if !got {
		return nil
	}
	return s
}

// deltas turns a watch's cumulative matches into this interval's.
func (x *Watcher) deltas(ls sut.LogSample, prev map[string]uint64) []schema.LogMatch {
	var out []schema.LogMatch
	for _, m := range ls.Matches {
		if d := m.Count - prev[m.Class]; d > 0 {
			out = append(out, schema.LogMatch{Class: errclass.Class(m.Class), Count: d,
				FirstAtSec: x.env.Elapsed(matchTime(m)).Seconds(), FirstLine: m.FirstLine})
		}
		prev[m.Class] = m.Count
	}
	return out
}

// matchTime is when a match's first line happened: a kernel record's own
// timestamp, else when it was read.
func matchTime(m sut.Match) time.Time {
	if m.Kernel > 0 {
		return kernelTime(m.Kernel, m.First)
	}
	return m.First
}

// sampleSide reads the server's namespace and adds its counters to the
// run's (under procMu); nil without a side sampler.
func (x *Watcher) sampleSide() *schema.TargetSideState {
	if x.side == nil {
		return nil
	}
	st := x.side.Sample()
	ts := &schema.TargetSideState{TCP: tcpMap(st.TCP), Counters: st.Counters}
	if st.Sockstat != nil {
		ts.TCPMemPages = st.Sockstat.TCPMemPages
		x.sideReport.PeakTCPMemPages = max(x.sideReport.PeakTCPMemPages, ts.TCPMemPages)
	}
	for k, v := range st.Counters {
		x.sideReport.Counters[k] += v
	}
	for k, v := range ts.TCP {
		x.sideReport.PeakTCP[k] = max(x.sideReport.PeakTCP[k], v)
	}
	return ts
}

// sampleProc reads the process (under procMu), with its namespace's TCP
// states from side; nil when there is none or it is gone.
func (x *Watcher) sampleProc(elapsed time.Duration, side *schema.TargetSideState) *schema.ProcState {
	if x.pids == nil || x.proc.Gone != "" {
		return nil
	}
	ps, err := x.pids.Sample()
	if err != nil {
		x.proc.Gone = err.Error()
		return nil
	}
	st := procState(ps, elapsed)
	if side != nil {
		st.TCP = side.TCP
	}
	r := x.proc
	r.Samples++
	if r.Comm == "" {
		r.Comm = ps.Procs[0].Comm
	}
	x.peaks(st)
	r.Last = st
	return st
}

// peaks raises the report's peaks with a reading (under procMu).
func (x *Watcher) peaks(st *schema.ProcState) {
	r := x.proc
	if r.Comm == "" {
		r.Comm = st.Comm
	}
	if st.FDs > r.PeakFDs || r.NoFile == 0 {
		r.PeakFDs, r.PeakFDsAtSec, r.NoFile = st.FDs, st.AtSec, st.NoFile
	}
	r.PeakRSS = max(r.PeakRSS, st.RSS)
	r.PeakThreads = max(r.PeakThreads, st.Threads)
	for k, v := range st.TCP {
		r.PeakTCP[k] = max(r.PeakTCP[k], v)
	}
}

// procState is the summary's view of a process sample.
func procState(ps sut.PIDSample, at time.Duration) *schema.ProcState {
	b := ps.Busiest()
	st := &schema.ProcState{AtSec: at.Seconds(), PID: b.PID, Comm: b.Comm, FDs: b.FDs, NoFile: b.NoFileSoft,
		TotalFDs: ps.FDs, Procs: len(ps.Procs)}
	for _, p := range ps.Procs {
		st.RSS += p.RSS
		st.Threads += p.Threads
	}
	return st
}

func (x *Watcher) sampleListen(elapsed time.Duration) *schema.ListenState {
	if x.diag == nil {
		return nil
	}
	qs, err := x.diag.Listeners(x.addr.Port())
	if err != nil {
		return nil
	}
	q := pick(qs, x.addr)
	if q == nil {
		return nil
	}
	r := x.listen
	r.Samples++
	r.Backlog = q.Backlog
	if q.Queue > r.PeakQueue || r.Samples == 1 {
		r.PeakQueue, r.PeakQueueAtSec = q.Queue, elapsed.Seconds()
	}
	if q.Queue > q.Backlog {
		r.FullSamples++
	}
	return &schema.ListenState{Addr: q.Addr.String(), Queue: q.Queue, Backlog: q.Backlog}
}

// tcpMap is a TCPStates as a map of its non-zero states.
func tcpMap(t hoststate.TCPStates) map[string]int {
	m := map[string]int{}
	for k, v := range map[string]int{"established": t.Established, "syn_sent": t.SynSent, "syn_recv": t.SynRecv,
		"fin_wait1": t.FinWait1, "fin_wait2": t.FinWait2, "time_wait": t.TimeWait, "close": t.Close,
		"close_wait": t.CloseWait, "last_ack": t.LastAck, "listen": t.Listen, "closing": t.Closing, "other": t.Other} {
		if v > 0 {
			m[k] = v
		}
	}
	return m
}

// Failed takes a reading of the process the moment the run's failure is
// recorded, before the run stops for it: once the workers close their
// connections the server's state is no longer the failure's.
func (x *Watcher) Failed(f *schema.Failure) {
	if x.pids == nil {
		return
	}
	x.procMu.Lock()
	defer x.procMu.Unlock()
	if x.closed || x.proc.AtFailure != nil {
		return
	}
	if ps, err := x.pids.Sample(); err == nil {
		st := procState(ps, time.Duration(f.AtSec*float64(time.Second)))
		if side := x.sampleSide(); side != nil {
			st.TCP = side.TCP
		}
		x.proc.AtFailure = st
		x.peaks(st)
	}
}

// stop ends the watcher's goroutines (probe, exit watch, snapshot).
func (x *Watcher) stop() {
	x.stopOnce.Do(func() { close(x.done) })
	x.wg.Wait()
}

// Report writes what was seen into the summary's watch section.
func (x *Watcher) Report(s *schema.Summary) {
	x.stop()
	r := &schema.WatchReport{}
	x.procMu.Lock()
	if x.proc != nil {
		p := *x.proc
		if len(p.PeakTCP) == 0 {
			p.PeakTCP = nil
		}
		r.Proc = &p
	}
	x.procMu.Unlock()
	if x.logs != nil {
		if ls, err := x.logs.Sample(); err == nil {
			r.Logs = &schema.LogReport{Sources: x.logSources, Lines: ls.Lines, Matches: x.matches(ls)}
		}
	}
	if x.kernel != nil {
		k := *x.kernel
		if x.kmsg != nil {
			if ks, err := x.kmsg.Sample(); err == nil {
				k.Matches, k.Missed = x.matches(ks.LogSample), ks.Missed
			}
		}
		r.Kernel = &k
	}
	if x.listen != nil && x.listen.Samples > 0 {
		l := *x.listen
		r.Listen = &l
	}
	x.procMu.Lock()
	defer x.procMu.Unlock()
	if x.sideReport != nil {
		sr := *x.sideReport
		if len(sr.Counters) == 0 {
			sr.Counters = nil
		}
		if len(sr.PeakTCP) == 0 {
			sr.PeakTCP = nil
		}
		r.TargetSide = &sr
	}
	if x.probe != nil {
		r.Probe = x.probe.report()
		if x.probe.note != "" {
			s.Notes = append(s.Notes, x.probe.note)
		}
	}
	s.Watch = r
}

// matches is a watch's matches for the summary, first seen first.
func (x *Watcher) matches(ls sut.LogSample) []schema.LogMatch {
	out := make([]schema.LogMatch, 0, len(ls.Matches))
	for _, m := range ls.Matches {
		out = append(out, schema.LogMatch{Class: errclass.Class(m.Class), Count: m.Count,
			FirstAtSec: x.env.Elapsed(matchTime(m)).Seconds(), FirstLine: m.FirstLine})
	}
	slices.SortStableFunc(out, func(a, b schema.LogMatch) int { return cmp.Compare(a.FirstAtSec, b.FirstAtSec) })
	return out
}

// Close releases every watcher. Safe to call more than once.
func (x *Watcher) Close() {
	x.stop()
	x.procMu.Lock()
	x.closed = true
	x.procMu.Unlock()
	if x.diag != nil {
		_ = x.diag.Close()
		x.diag = nil
	}
	if x.kmsg != nil {
		_ = x.kmsg.Close()
		x.kmsg = nil
	}
	if x.logs != nil {
		_ = x.logs.Close()
	}
	if x.side != nil {
		_ = x.side.Close()
		x.side = nil
	}
}

// words is wire's payload and expect for the probe, with the target's
// reply rules and which classes are failures.
func words(env *workers.WatchEnv) ([]byte, *wire.Expect, map[string]bool, error) {
	payload, ex, err := env.Scenario.Wire.Words()
	if err != nil {
		return nil, nil, nil, err
	}
	failing := map[string]bool{}
	if ex != nil {
		if rr, ok := env.Target.(workers.ReplyRuler); ok {
			ex.Rules = append(ex.Rules, rr.ReplyRules()...)
		}
		for _, r := range ex.Rules {
			if scenarios.FailingClass(r.Class) {
				failing[r.Class] = true
			}
		}
	}
	return payload, ex, failing, nil
}
