package watch_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/lab/sut"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/watch"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/targets"
	"github.com/nobufs/nobufs/workers/wire"
)

func needLinux(t *testing.T) {
	t.Helper()
	if _, err := sut.WatchPID(os.Getpid()); err != nil {
		t.Skipf("watching a process: %v", err)
	}
}

// fakeProgram is a launched target stand-in: a built-in sink that says
// it is this process, and writes a line that its log rule calls the
// server's connection limit, 300 ms after a watcher subscribed.
type fakeProgram struct {
	workers.Target
	exited chan struct{}
	wg     sync.WaitGroup
	stop   chan struct{}
	once   sync.Once
}

func (f *fakeProgram) PID() int { return os.Getpid() }
func (f *fakeProgram) Lines(fn func(workers.ProgramLine)) {
	fn(workers.ProgramLine{Stream: "stdout", Text: "[notice] started", Time: time.Now()})
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTimer(300 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			fn(workers.ProgramLine{Stream: "stdout", Text: "[warn] Failing because we have 67 connections already.", Time: time.Now()})
		case <-f.stop:
		}
	}()
}
func (f *fakeProgram) Exited() <-chan struct{}          { return f.exited }
func (f *fakeProgram) Exit() (schema.ProgramExit, bool) { return schema.ProgramExit{}, false }
func (f *fakeProgram) LogRules() []wire.Rule {
	return []wire.Rule{{Pattern: regexp.MustCompile(`Failing because we have \d+ connections`), Class: "server-conn-limit"}}
}
func (f *fakeProgram) ReplyRules() []wire.Rule { return nil }
func (f *fakeProgram) Close() {
	f.once.Do(func() { close(f.stop) })
	f.wg.Wait()
	f.Target.Close()
}

// TestWatchLaunchedProgram: the launched target's log line is the
// failure (phase server) with its time, its process is read at that
// moment, its listener and namespace are watched, and each sample says so.
func TestWatchLaunchedProgram(t *testing.T) {
	needLinux(t)
	sc := testkit.Parse(t, `
name: watch-program
kind: half-open
target: {command: {argv: [fake]}}
load: {workers: 2}
half_open: {hold: 5s}
stop: {duration: 5s, on_failure: true}
failure: {classes: [server-conn-limit]}
`)
	opts := workers.Options{SampleEvery: 100 * time.Millisecond, Watch: watch.New,
		Program: func(ctx context.Context, env *workers.ProgramEnv) (workers.Target, error) {
			tg, err := targets.Table[scenarios.TargetSink](env.Listen.String(), scenarios.TargetOptions{})
			if err != nil {
				return nil, err
			}
			return &fakeProgram{Target: tg, exited: make(chan struct{}), stop: make(chan struct{})}, nil
		}}
	r := testrun.Run(t, context.Background(), sc, opts)
	f := r.Sum.TimeToFailure
	// The line comes 300 ms after the watcher subscribed, which is before
	// the load started.
	if f == nil || f.Class != errclass.ClassServerConnLimit || f.Phase != errclass.PhaseServer || f.AtSec < 0.1 || f.AtSec > 3 {
		t.Fatalf("time to failure = %+v, want server/server-conn-limit after ~0.3 s", f)
	}
	w := r.Sum.Watch
	if w == nil || w.Logs == nil || len(w.Logs.Matches) != 1 || w.Logs.Lines != 2 {
		t.Fatalf("watch = %+v, want one log match of two lines", w)
	}
	if m := w.Logs.Matches[0]; m.Class != errclass.ClassServerConnLimit || m.FirstLine != "[warn] Failing because we have 67 connections already." || m.FirstAtSec != f.AtSec {
		t.Errorf("log match = %+v, want the line at the failure's time %.3f", m, f.AtSec)
	}
	p := w.Proc
	if p == nil || p.PID != os.Getpid() || p.AtFailure == nil || p.AtFailure.AtSec != f.AtSec || p.AtFailure.FDs == 0 || p.NoFile == 0 || p.PeakFDs < p.AtFailure.FDs {
		t.Errorf("proc = %+v (at failure %+v), want this process read at the failure", p, p.AtFailure)
	}
	if w.Listen == nil || w.Listen.Samples == 0 || w.Listen.Backlog == 0 {
		t.Errorf("listen = %+v, want the sink's listener sampled", w.Listen)
	}
	if w.TargetSide == nil {
		t.Error("no target side: a launched target's namespace is watched")
	}
	var logSample bool
	for _, s := range r.Samples {
		if s.Watch == nil || s.Watch.Proc == nil {
			t.Fatalf("sample %d without the process: %+v", s.Seq, s.Watch)
		}
		for _, m := range s.Watch.Logs {
			logSample = logSample || (m.Class == errclass.ClassServerConnLimit && m.Count == 1)
		}
	}
	if !logSample {
		t.Error("no sample carries the log match")
	}
}

// lineServer answers each line with answer() until it is closed; an
// empty answer closes the connection.
func lineServer(t *testing.T, answer func() string) string {
	t.Helper()
	return testkit.Serve(t, func(_ int, c *net.TCPConn) {
		br := bufio.NewReader(c)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			a := answer()
			if a == "" {
				return
			}
			if _, err := c.Write([]byte(a)); err != nil {
				return
			}
		}
	})
}

// TestWatchFileAndProbe: an external server on this host is watched by
// its log file (target.watch.log with the scenario's rules), by PID, and
// by the probe: it refuses, then hangs up; the probe's outcomes, the
// outage to the end, and the log line with its time are recorded.
func TestWatchFileAndProbe(t *testing.T) {
	needLinux(t)
	var mode atomic.Int32
	addr := lineServer(t, func() string {
		switch mode.Load() {
		case 1:
			return "-ERR max number of clients reached\r\n"
		case 2:
			return "" // hang up
		}
		return "+PONG\r\n"
	})
	logFile := filepath.Join(t.TempDir(), "server.log")
	if err := os.WriteFile(logFile, []byte("old line: Too many open files (before the run: not read)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := testkit.Parse(t, fmt.Sprintf(`
name: watch-external
kind: half-open
target:
  address: %q
  watch:
    pid: %d
    log: %q
    rules: [{match: 'Too many open files', class: server-emfile}]
  probe: {every: 50ms, timeout: 500ms}
wire: {greeting: resp-ping}
load: {workers: 1}
half_open: {hold: 10s}
stop: {duration: 1500ms, on_failure: false}
failure: {classes: [unavailable, server-emfile]}
`, addr, os.Getpid(), logFile))
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(400 * time.Millisecond)
		mode.Store(1)
		f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			fmt.Fprintln(f, "accept4() failed (24: Too many open files)")
			f.Close()
		}
		time.Sleep(300 * time.Millisecond)
		mode.Store(2)
	}()
	r := testrun.Run(t, context.Background(), sc, workers.Options{SampleEvery: 100 * time.Millisecond, Watch: watch.New})
	<-done
	w := r.Sum.Watch
	if w == nil || w.Logs == nil || len(w.Logs.Matches) != 1 || w.Logs.Sources[0] != logFile {
		t.Fatalf("watch = %+v, want one match from %s", w, logFile)
	}
	// The server changes 400 ms after the test started it, a little
	// before the load started.
	if m := w.Logs.Matches[0]; m.Class != errclass.ClassServerEMFILE || m.Count != 1 || m.FirstAtSec < 0.2 {
		t.Errorf("log match %+v: want the appended line only, after 0.4 s", m)
	}
	p := w.Probe
	if p == nil || p.OK == 0 || p.Failed == 0 || p.UnavailableFromSec == nil || p.FirstFailureAtSec == nil {
		t.Fatalf("probe = %+v, want ok then failed, unavailable to the end", p)
	}
	if *p.FirstFailureAtSec < 0.2 || *p.UnavailableFromSec < *p.FirstFailureAtSec || p.Probes != p.OK+p.Failed || p.Latency.Count != p.OK {
		t.Errorf("probe = %+v (first failure %v, unavailable from %v)", p, *p.FirstFailureAtSec, *p.UnavailableFromSec)
	}
	var refused, hungUp bool
	for _, o := range p.Outcomes {
		refused = refused || o.Class == errclass.ClassServerRefused
		hungUp = hungUp || o.Class == errclass.ClassEOF
	}
	if !refused || !hungUp {
		t.Errorf("probe outcomes %+v: want server-refused (the -ERR reply) and eof (hung up)", p.Outcomes)
	}
	f := r.Sum.TimeToFailure
	if f == nil || (f.Class != errclass.ClassUnavailable && f.Class != errclass.ClassServerEMFILE) || f.AtSec < 0.2 {
		t.Errorf("time to failure = %+v, want the refusal or the log line, after ~0.4 s", f)
	}
	if w.Proc == nil || w.Proc.PID != os.Getpid() || w.Proc.Samples == 0 {
		t.Errorf("proc = %+v, want this process sampled", w.Proc)
	}
}
