package workers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/wire"
)

// NewProgram starts a launched target — a program nobufs runs for the
// run (target.server, target.command) — and returns once it listens.
// Package workers/program has the implementation; Options.Program plugs
// it in.
type NewProgram func(ctx context.Context, env *ProgramEnv) (Target, error)

// ErrNoProgram: the scenario's target is a program to launch, and the
// engine was given no Options.Program to launch it.
var ErrNoProgram = errors.New("a launched target (target.server, target.command) needs Options.Program")

// ProgramEnv is what the engine gives a launched target.
type ProgramEnv struct {
	Scenario *scenarios.Scenario
	// Listen is where the program listens: target.listen's address on
	// this host, the target side's address in a cell; its port is chosen
	// free when target.listen's is 0.
	Listen netip.AddrPort
	// Dir is the run directory (Options.Dir); the program's own directory
	// goes under it. Empty: a temporary directory of the target's own.
	Dir string
	// Netns is the network namespace path the program runs in: the
	// target side's in a cell, "" on this host.
	Netns string
}

// Program is implemented by a launched target; the watchers read it.
type Program interface {
	Target
	// PID is the program's process ID.
	PID() int
	// Lines calls fn with each line of the program's output: first the
	// lines it wrote so far (the last ones, bounded), then each new one
	// as it comes, from the goroutines reading the output, until Close.
	// Call it once.
	Lines(fn func(ProgramLine))
	// Exited is closed when the program has ended; Exit says how.
	Exited() <-chan struct{}
	Exit() (schema.ProgramExit, bool)
	// LogRules map its log lines to classes (a known server's rules);
	// ReplyRules its replies (tried after the scenario's own).
	LogRules() []wire.Rule
	ReplyRules() []wire.Rule
}

// ProgramLine is one line of a launched program's output.
type ProgramLine struct {
	Stream string // "stdout" or "stderr"
	Text   string
	Time   time.Time
}

// ReplyRuler is implemented by targets that know how their replies read
// (a known server: redis's "-ERR max number of clients reached" is
// server-refused); kinds add these rules after the scenario's own.
type ReplyRuler interface {
	ReplyRules() []wire.Rule
}

// NewWatcher builds the watchers of a run — of the server's process, its
// log, the kernel log, its listener, its namespace's counters and the
// availability probe — from the scenario (target.watch, target.probe) and
// the target. It is called once the target listens, before the load.
// Package watch has the implementation; Options.Watch plugs it in. It
// returns a nil Watcher when there is nothing to watch.
type NewWatcher func(env *WatchEnv) (Watcher, error)

// Watcher is the server's side of a run, sampled beside the load. The
// engine calls Sample from the sampler goroutine once an interval; Failed
// once when the run's failure is recorded, from the goroutine recording
// it and before the run stops for it (so that a reading of the server
// then is its state at the failure: keep it to a few milliseconds, and
// never call WatchEnv.Record from it); Report once after the load (before
// a launched target is stopped); and Close last.
type Watcher interface {
	Sample(elapsed time.Duration) *schema.WatchSample
	Failed(f *schema.Failure)
	Report(s *schema.Summary)
	Close()
}

// WatchEnv is what the engine gives the watchers.
type WatchEnv struct {
	Scenario *scenarios.Scenario
	// Addr is where the load goes; Target the built-in or launched target
	// (nil for an external one: assert Program, AcceptQueuer…).
	Addr   string
	Target Target
	// TargetNetns is the network namespace of the server: the target
	// side's path in a cell, "" for this process's own.
	TargetNetns string
	// EnterClient moves the calling, locked thread to the client side (nil
	// on this host): the probe dials from there.
	EnterClient func() error

	sig *signals
}

// Record records one occurrence of an error key seen by a watcher at t
// (a server's log line, the kernel's, a failed probe) as an error of the
// run: in the errors table and the timeline, and — when its class is in
// failure.classes — as the time-to-failure, which stops the run like any
// worker's error (stop.on_failure). Its operation index is 0 (none).
// Occurrences before the load started are recorded at 0. Safe for
// concurrent use.
func (e *WatchEnv) Record(k errclass.ErrorKey, t time.Time) { e.sig.record(k, t) }

// Elapsed converts a time to the time since the load started (0 before it
// started, and for times before it).
func (e *WatchEnv) Elapsed(t time.Time) time.Duration { return e.sig.elapsed(t) }

// Stopped is closed the moment the load is told to stop (the duration is
// up, the failure came, an interrupt), before the workers close their
// connections: a probe in flight then is not the service's answer.
func (e *WatchEnv) Stopped() <-chan struct{} { return e.sig.stopped }

// signals holds the errors recorded by the watchers: a Worker of their own
// (ID -1, never given to a kind), whose operation counters stay 0.
type signals struct {
	r *run
	w *Worker

	mu      sync.Mutex
	start   time.Time
	pending []pendingSignal
	dropped int

	stopped  chan struct{}
	stopOnce sync.Once
}

// stop closes stopped (once).
func (s *signals) stop() { s.stopOnce.Do(func() { close(s.stopped) }) }

type pendingSignal struct {
	k  errclass.ErrorKey
	at time.Time
}

// maxPending bounds the signals held before the load starts.
const maxPending = 1024

func newSignals(r *run) *signals {
	return &signals{r: r, w: newWorker(-1, r), stopped: make(chan struct{})}
}

// begin starts the signals' clock with the load's and records those that
// came before, at 0.
func (s *signals) begin(start time.Time) {
	s.mu.Lock()
	s.start = start
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, p := range pending {
		s.add(p.k, 0)
	}
}

func (s *signals) record(k errclass.ErrorKey, t time.Time) {
	s.mu.Lock()
	if s.start.IsZero() {
		if len(s.pending) < maxPending {
			s.pending = append(s.pending, pendingSignal{k, t})
		} else {
			s.dropped++
		}
		s.mu.Unlock()
		return
	}
	at := max(t.Sub(s.start), 0)
	s.mu.Unlock()
	s.add(k, at)
}

func (s *signals) elapsed(t time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.start.IsZero() {
		return 0
	}
	return max(t.Sub(s.start), 0)
}

// add counts k in the signals' worker and, the first time, offers it as
// the run's failure.
func (s *signals) add(k errclass.ErrorKey, at time.Duration) {
	if s.w.note(k, at, 0) {
		s.r.firstError(k, at, 0)
	}
}

// startProgram starts a launched target: on target.listen's address on
// this host, or on the target side's address in a cell, with a free port
// when target.listen's is 0.
func startProgram(ctx context.Context, sc *scenarios.Scenario, opts Options, r *run) (Target, string, error) {
	if opts.Program == nil {
		return nil, "", ErrNoProgram
	}
	ap, err := netip.ParseAddrPort(sc.Target.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("listen address %q: %w", sc.Target.Listen, err)
	}
	env := &ProgramEnv{Scenario: sc, Dir: opts.Dir}
	var enter func() error
	if ns := r.ns; ns != nil {
		ap = netip.AddrPortFrom(ns.TargetAddr, ap.Port())
		env.Netns = ns.TargetPath
		enter = ns.EnterTarget
		if env.Netns == "" {
			return nil, "", fmt.Errorf("cell %s: a launched target needs the target side's namespace path", ns.Name)
		}
	} else if !ap.Addr().IsLoopback() {
		return nil, "", fmt.Errorf("listen address %q: %w: launched targets listen on loopback only", sc.Target.Listen, ErrTargetRefused)
	}
	if ap.Port() == 0 {
		var port uint16
		var perr error
		if err := onThreadIn(enter, func() { port, perr = freePort(ap.Addr()) }); err != nil {
			return nil, "", fmt.Errorf("target side: %w", err)
		}
		if perr != nil {
			return nil, "", fmt.Errorf("choose a port for the launched target: %w", perr)
		}
		ap = netip.AddrPortFrom(ap.Addr(), port)
	}
	env.Listen = ap
	tgt, err := opts.Program(ctx, env)
	if err != nil {
		return nil, "", fmt.Errorf("start target %s: %w", programName(sc), err)
	}
	return tgt, tgt.Addr().String(), nil
}

func programName(sc *scenarios.Scenario) string {
	if sc.Target.Server != "" {
		return sc.Target.Server
	}
	if c := sc.Target.Command; c != nil && len(c.Argv) > 0 {
		return c.Argv[0]
	}
	return "program"
}

// freePort returns a TCP port free on addr now (a listener on port 0,
// closed at once): the program is told to listen on it.
func freePort(addr netip.Addr) (uint16, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// startWatch builds the run's watchers (nil when Options.Watch is unset
// or there is nothing to watch).
func startWatch(sc *scenarios.Scenario, opts Options, r *run, tgt Target, addr string) (Watcher, error) {
	if opts.Watch == nil {
		return nil, nil
	}
	env := &WatchEnv{Scenario: sc, Addr: addr, Target: tgt, EnterClient: r.enterClient(), sig: r.signals}
	if r.ns != nil {
		env.TargetNetns = r.ns.TargetPath
	}
	w, err := opts.Watch(env)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if w != nil {
		r.onFirstFailure = w.Failed
	}
	return w, nil
}
