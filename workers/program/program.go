// Package program is the launched target: a real server program nobufs
// starts for a run (target.server: one of lab/sut's known servers, or
// target.command: a program of the user's own), on loopback or inside a
// lab cell's target namespace, with its own RLIMIT_NOFILE, waited for
// until it listens, and ended by its PID when the run ends — on error,
// interrupt and hang-up too (the engine closes its target on every path;
// lab/sut gives the program Pdeathsig and, as root, a PID namespace of its
// own, so that nothing outlives nobufs). New is workers.NewProgram.
//
// Its directory is <run dir>/target: the config files written from the
// scenario (templated with the address, port, data directory and
// target.params), data/, stdout.log and stderr.log, and while it runs
// sut.pid and owner (nobufs's own PID and start time): Reap and Cleanup
// end what a crashed nobufs left, and only that.
package program

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nobufs/nobufs/lab/sut"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/wire"
)

// DirName is the launched target's directory inside the run directory.
const DirName = "target"

// Mode is the launched target's mode in the summary (target.mode).
const Mode = "launched"

// maxReplay bounds the output lines kept for a watcher that subscribes
// late (Lines): the start-up lines, where a server says its limits.
const maxReplay = 256

// Target is a launched program. It implements workers.Program.
type Target struct {
	proc   *sut.Proc
	server *sut.Server
	addr   *net.TCPAddr
	dir    string
	tmp    string // a temporary run directory of its own, removed on Close
	grace  time.Duration
	cancel context.CancelFunc

	info schema.ProgramInfo

	mu     sync.Mutex
	lines  []workers.ProgramLine
	onLine func(workers.ProgramLine)
	closed bool
	// exited before Close: the program ended during the run.
	duringRun bool

	closeOnce sync.Once
}

var (
	_ workers.Program    = (*Target)(nil)
	_ workers.ReplyRuler = (*Target)(nil)
)

// New starts the scenario's launched target (see the package doc).
func New(ctx context.Context, env *workers.ProgramEnv) (workers.Target, error) {
	sc := env.Scenario
	tc := sc.Target
	t := &Target{grace: tc.StopGrace.D(), addr: net.TCPAddrFromAddrPort(env.Listen)}
	root := env.Dir
	if root == "" {
		tmp, err := os.MkdirTemp("", "nobufs-target-")
		if err != nil {
			return nil, fmt.Errorf("program: %w", err)
		}
		t.tmp, root = tmp, tmp
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, t.fail(fmt.Errorf("program: %w", err))
	}
	t.dir = filepath.Join(root, DirName)
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return nil, t.fail(fmt.Errorf("program: %w", err))
	}
	spec, err := t.spec(sc, env.Listen.String())
	if err != nil {
		return nil, t.fail(err)
	}
	spec.RunDir = t.dir
	spec.NoFile = tc.NoFile
	spec.ReadyTimeout = tc.ReadyTimeout.D()
	spec.StopGrace = t.grace
	spec.OnLine = t.line
	if err := writeOwner(t.dir); err != nil {
		return nil, t.fail(err)
	}
	// The program lives until Close; ctx (the run's) bounds its start only.
	pctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	p, err := sut.Start(pctx, spec, env.Netns)
	stop()
	if err != nil {
		cancel()
		removeOwner(t.dir)
		return nil, t.fail(fmt.Errorf("program: %w", err))
	}
	t.proc, t.cancel = p, cancel
	in := p.Info()
	t.info = schema.ProgramInfo{Argv: in.Argv, Version: in.Version, Params: spec.Params, PID: in.PID,
		PIDNamespace: in.PIDNamespace, Netns: in.Netns, NoFile: in.NoFile, NoFileMethod: in.NoFileMethod,
		CanRaiseNoFile: in.CanRaiseNoFile, ReadyMs: float64(in.Ready) / float64(time.Millisecond),
		Dir: DirName, Stdout: filepath.Join(DirName, filepath.Base(in.Stdout)), Stderr: filepath.Join(DirName, filepath.Base(in.Stderr))}
	if t.server != nil {
		t.info.Server = t.server.Name
	}
	for _, f := range spec.Files {
		t.info.Config = append(t.info.Config, filepath.Join(DirName, f.Path))
	}
	return t, nil
}

// fail removes a temporary directory of a target that did not start.
func (t *Target) fail(err error) error {
	if t.tmp != "" {
		_ = os.RemoveAll(t.tmp)
	}
	return err
}

// spec is the sut.Spec of the scenario's server or command.
func (t *Target) spec(sc *scenarios.Scenario, addr string) (sut.Spec, error) {
	tc := sc.Target
	if tc.Server != "" {
		srv, ok := sut.LookupServer(tc.Server)
		if !ok {
			return sut.Spec{}, fmt.Errorf("program: no server %q", tc.Server)
		}
		t.server = &srv
		spec, err := srv.Spec(t.dir, addr, tc.Params)
		if err != nil {
			return sut.Spec{}, fmt.Errorf("program: %w", err)
		}
		return spec, nil
	}
	c := tc.Command
	if c == nil {
		return sut.Spec{}, errors.New("program: the target has neither server nor command")
	}
	spec := sut.Spec{Argv: slices.Clone(c.Argv), Env: slices.Clone(c.Env), Dir: c.Dir, Params: tc.Params,
		Addr: addr, VersionArgv: slices.Clone(c.Version), ReadyConnect: c.Ready == scenarios.ReadyConnect}
	for _, f := range c.Files {
		spec.Files = append(spec.Files, sut.File{Path: f.Path, Template: f.Content})
	}
	return spec, nil
}

// line is the program's output handler (sut.Spec.OnLine): kept for a
// late subscriber, handed to the subscriber.
func (t *Target) line(l sut.Line) {
	pl := workers.ProgramLine{Stream: l.Stream, Text: l.Text, Time: l.Time}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.onLine != nil {
		t.onLine(pl)
		return
	}
	if len(t.lines) < maxReplay {
		t.lines = append(t.lines, pl)
	}
}

// Lines hands fn the output so far (the first lines, bounded) and then
// every new line, in order, until the program's output ends.
func (t *Target) Lines(fn func(workers.ProgramLine)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.lines {
		fn(l)
	}
	t.lines = nil
	t.onLine = fn
}

// Addr is where the program listens.
func (t *Target) Addr() net.Addr { return t.addr }

// PID is the program's process ID.
func (t *Target) PID() int { return t.proc.PID() }

// Exited is closed when the program has ended.
func (t *Target) Exited() <-chan struct{} { return t.proc.Exited() }

// Exit says how the program ended; false while it runs.
func (t *Target) Exit() (schema.ProgramExit, bool) {
	st, ok := t.proc.Exit()
	if !ok {
		return schema.ProgramExit{}, false
	}
	return schema.ProgramExit{Code: st.Code, Signal: st.Signal}, true
}

// LogRules are the known server's log rules.
func (t *Target) LogRules() []wire.Rule {
	if t.server == nil {
		return nil
	}
	return convert(t.server.Rules)
}

// ReplyRules are the known server's reply rules.
func (t *Target) ReplyRules() []wire.Rule {
	if t.server == nil {
		return nil
	}
	return convert(t.server.Replies)
}

func convert(rs []sut.Rule) []wire.Rule {
	out := make([]wire.Rule, 0, len(rs))
	for _, r := range rs {
		out = append(out, wire.Rule{Pattern: r.Pattern, Class: r.Class})
	}
	return out
}

// Info describes the launched target; after Close it says how it ended.
func (t *Target) Info() schema.TargetInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.info
	if st, ok := t.proc.Exit(); ok {
		e := schema.ProgramExit{Code: st.Code, Signal: st.Signal, DuringRun: t.duringRun || !t.closed}
		info.Exit = &e
	}
	return schema.TargetInfo{Mode: Mode, Address: t.addr.String(), Program: &info}
}

// Kill ends the program at once (SIGKILL), as a crash would.
func (t *Target) Kill() { t.stop(0) }

// Close ends the program (SIGTERM, SIGKILL after target.stop_grace) and
// everything it started, and waits for it. Safe to call more than once.
func (t *Target) Close() { t.stop(t.grace) }

func (t *Target) stop(grace time.Duration) {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		_, exited := t.proc.Exit()
		t.duringRun = exited
		t.closed = true
		t.mu.Unlock()
		err := t.proc.Stop(grace)
		t.cancel()
		removeOwner(t.dir)
		t.mu.Lock()
		if err != nil {
			t.info.StopError = err.Error()
		}
		t.mu.Unlock()
		if t.tmp != "" {
			_ = os.RemoveAll(t.tmp)
		}
	})
}
