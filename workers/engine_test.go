package workers_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"

	"github.com/nobufs/nobufs/scenarios"
)

func parseScenario(t *testing.T, src string) *scenarios.Scenario { return testkit.Parse(t, src) }

// runScenario runs sc with the engine's tables and checks the descriptors
// it leaves (testkit.Run).
func runScenario(t *testing.T, ctx context.Context, sc *scenarios.Scenario, opts Options) (*schema.Summary, []map[string]any) {
	t.Helper()
	r := testrun.Run(t, ctx, sc, opts)
	return r.Sum, r.Lines
}

type (
	Options  = workers.Options
	Progress = workers.Progress
)

func TestRunStopsAtMaxOps(t *testing.T) {
	sc := parseScenario(t, `
name: maxops
kind: port-exhaustion
load: {workers: 3}
stop: {max_ops: 200, duration: 30s}
`)
	sum, _ := runScenario(t, context.Background(), sc, Options{})
	if sum.StopReason != schema.StopMaxOps {
		t.Errorf("stop reason %q, want %q", sum.StopReason, schema.StopMaxOps)
	}
	if sum.Ops.Issued != 200 || sum.Ops.OK+sum.Ops.Failed+sum.Ops.Aborted != 200 {
		t.Errorf("ops = %+v, want 200 issued and accounted for", sum.Ops)
	}
	if sum.Target.Accepted == 0 {
		t.Errorf("target accepted nothing")
	}
	// No source_ports: nothing is set on the socket, and the summary says
	// the kernel picked from the system's range (issue 9 item 6).
	if p := sum.PortExhaustion; p == nil || p.Method != "system" || p.RangeSize != 0 {
		t.Errorf("port report = %+v, want method system and no range", sum.PortExhaustion)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	sc := parseScenario(t, `
name: dur
kind: port-exhaustion
load: {workers: 1}
stop: {duration: 150ms}
`)
	sum, _ := runScenario(t, context.Background(), sc, Options{})
	if sum.StopReason != schema.StopDuration {
		t.Errorf("stop reason %q, want %q", sum.StopReason, schema.StopDuration)
	}
}

func TestRunInterrupted(t *testing.T) {
	sc := parseScenario(t, `
name: intr
kind: port-exhaustion
load: {workers: 2}
stop: {duration: 30s}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, _ := runScenario(t, ctx, sc, Options{SampleEvery: 20 * time.Millisecond, Progress: func(Progress) { cancel() }})
	if sum.Status != schema.StatusInterrupted || sum.StopReason != schema.StopInterrupted {
		t.Errorf("status %q stop %q, want interrupted", sum.Status, sum.StopReason)
	}
	if sum.Ops.OK == 0 {
		t.Errorf("no operation recorded before the interrupt")
	}
}

// holdListener accepts connections, never writes, and closes each one only
// when the client has closed it (or the test ends).
func holdListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				var b [512]byte
				for {
					if _, err := c.Read(b[:]); err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestRunOpenModelCountsDropped: arrivals that find the only worker busy
// (each operation waits 100ms for a server that never closes) are counted
// as dropped, not queued.
func TestRunOpenModelCountsDropped(t *testing.T) {
	addr := holdListener(t)
	sc := parseScenario(t, `
name: open
kind: port-exhaustion
target: {address: "`+addr+`"}
load: {model: open, rate: 500, workers: 1}
socket: {io_timeout: 100ms}
port_exhaustion: {close_first: server}
stop: {duration: 400ms}
failure: {classes: []}
`)
	sum, lines := runScenario(t, context.Background(), sc, Options{SampleEvery: 100 * time.Millisecond})
	if sum.Ops.Dropped == 0 {
		t.Errorf("dropped = 0, want arrivals dropped while the worker is busy (ops %+v)", sum.Ops)
	}
	if sum.Ops.Issued == 0 || sum.Ops.Issued > 10 {
		t.Errorf("issued = %d, want a few (one worker, 100ms each, 400ms)", sum.Ops.Issued)
	}
	var dropped float64
	for _, l := range lines {
		if l["type"] == "sample" {
			dropped += l["dropped"].(float64)
		}
	}
	if uint64(dropped) != sum.Ops.Dropped {
		t.Errorf("timeline drops add up to %v, summary says %d", dropped, sum.Ops.Dropped)
	}
	// Waiting for the server's close timed out: our own deadline, in recv.
	if len(sum.Errors) == 0 || sum.Errors[0].Class != errclass.ClassDeadline || sum.Errors[0].Phase != errclass.PhaseRecv {
		t.Errorf("errors = %+v, want recv/deadline", sum.Errors)
	}
}

func TestRunRefusesNonLoopbackTarget(t *testing.T) {
	sc := parseScenario(t, `
name: far
kind: port-exhaustion
target: {address: "192.0.2.1:80"}
`)
	_, err := workers.Run(context.Background(), sc, Options{Kinds: kinds.Table, Targets: targets.Table})
	if !errors.Is(err, workers.ErrTargetRefused) {
		t.Errorf("err = %v, want ErrTargetRefused", err)
	}
}

// TestRunFdLimit: with limits.nofile below what the load needs the run
// meets EMFILE, and the limit is restored afterwards.
func TestRunFdLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors through /proc")
	}
	addr := holdListener(t)
	before := testkit.FDCount()
	sc := parseScenario(t, `
name: fds
kind: port-exhaustion
target: {address: "`+addr+`"}
load: {workers: 64}
socket: {io_timeout: 2s}
limits: {nofile: `+strconv.Itoa(before+40)+`}
port_exhaustion: {close_first: server}
`)
	rl0 := hostfacts.ReadSettings().Rlimits["nofile"]
	sum, _ := runScenario(t, context.Background(), sc, Options{})
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassEMFILE {
		t.Fatalf("failure = %+v, want emfile (errors %+v)", f, sum.Errors)
	}
	if got := hostfacts.ReadSettings().Rlimits["nofile"]; got != rl0 {
		t.Errorf("nofile after the run = %+v, want it restored to %+v", got, rl0)
	}
}

// TestRunOpenModelStages: a ramp issues exactly the arrivals its rate
// integral promises (issued + dropped), then ends the run by itself.
func TestRunOpenModelStages(t *testing.T) {
	sc := parseScenario(t, `
name: ramp
kind: port-exhaustion
load:
  model: open
  workers: 4
  rate: 0
  stages:
    - {duration: 300ms, target: 400}
    - {duration: 200ms, target: 400}
stop: {duration: 10s}
`)
	sum, _ := runScenario(t, context.Background(), sc, Options{})
	if sum.StopReason != schema.StopStagesDone {
		t.Errorf("stop reason %q, want %q", sum.StopReason, schema.StopStagesDone)
	}
	// 0→400/s over 0.3 s is 60 arrivals, 400/s for 0.2 s another 80.
	if got, want := sum.Ops.Issued+sum.Ops.Dropped, uint64(140); got != want {
		t.Errorf("issued %d + dropped %d = %d, want %d", sum.Ops.Issued, sum.Ops.Dropped, got, want)
	}
	if sum.Ops.Aborted != 0 {
		t.Errorf("aborted = %d, want 0: the end of the stages lets operations finish", sum.Ops.Aborted)
	}
}

// TestRunPeakOpenBetweenSamples: the most connections open at once is
// tracked on every connect, not read off the samples: a run that ends
// within its first interval still reports it (issue 9 item 2: the demo said
// "peak open 0").
func TestRunPeakOpenBetweenSamples(t *testing.T) {
	sc := parseScenario(t, `
name: peak
kind: port-exhaustion
load: {workers: 4}
stop: {max_ops: 400}
`)
	sum, lines := runScenario(t, context.Background(), sc, Options{SampleEvery: time.Hour})
	if sum.PeakOpen < 1 || sum.PeakOpen > 4 {
		t.Errorf("peak open = %d, want 1–4 (4 workers, one connection each at a time)", sum.PeakOpen)
	}
	var peak float64
	for _, l := range lines {
		if l["type"] == "sample" {
			peak = max(peak, l["peak_open"].(float64))
		}
	}
	if int64(peak) != sum.PeakOpen {
		t.Errorf("samples' peak_open %v, summary %d", peak, sum.PeakOpen)
	}
}

// TestRebuildMatchesRun: a summary rebuilt from a schema 2 timeline whose
// end line was lost (the run was killed) has the real run's counts,
// first occurrences and time-to-failure exactly (issue 9 item 4: a
// rebuild said "op #0" and issued 27 / aborted 0 where the run had 28 / 1).
func TestRebuildMatchesRun(t *testing.T) {
	sc := parseScenario(t, `
name: rebuild
kind: port-exhaustion
load: {workers: 3}
port_exhaustion: {source_ports: 42000-42039, method: bind}
failure: {classes: [eaddrinuse, eaddrnotavail]}
stop: {after_failure: 200ms}
`)
	r := testrun.Run(t, context.Background(), sc, Options{Namespaces: testrun.PrivateNetNS(t), SampleEvery: 20 * time.Millisecond})
	real := r.Sum
	// Drop the end line, as a kill would.
	lines := bytes.SplitAfter(r.Raw, []byte("\n"))
	var kept []byte
	for _, l := range lines {
		if !bytes.Contains(l, []byte(`"type":"end"`)) {
			kept = append(kept, l...)
		}
	}
	tl, err := schema.ReadTimeline("t", bytes.NewReader(kept))
	if err != nil {
		t.Fatal(err)
	}
	if tl.End != nil {
		t.Fatal("the end line is still there")
	}
	got := schema.Rebuild(tl)
	if got.Ops != real.Ops {
		t.Errorf("rebuilt ops %+v, real %+v", got.Ops, real.Ops)
	}
	if !reflect.DeepEqual(got.Errors, real.Errors) {
		t.Errorf("rebuilt errors %+v, real %+v", got.Errors, real.Errors)
	}
	if got.TimeToFailure == nil || real.TimeToFailure == nil || *got.TimeToFailure != *real.TimeToFailure {
		t.Errorf("rebuilt time to failure %+v, real %+v", got.TimeToFailure, real.TimeToFailure)
	}
	if got.PeakOpen != real.PeakOpen {
		t.Errorf("rebuilt peak open %d, real %d", got.PeakOpen, real.PeakOpen)
	}
}

// failAfter is a timeline writer that fails from the n-th write on.
type failAfter struct {
	mu sync.Mutex
	n  int
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n < 0 {
		return 0, syscall.ENOSPC
	}
	return len(p), nil
}

// TestRunLostTimeline: a timeline that could not be written is an error
// returned with the summary, never a success with a note nobody reads
// (issue 9 item 9).
func TestRunLostTimeline(t *testing.T) {
	sc := parseScenario(t, "name: lost\nkind: port-exhaustion\nport_exhaustion: {close_first: server}\nstop: {duration: 300ms}\n")
	sum, err := workers.Run(context.Background(), sc, Options{Kinds: kinds.Table, Targets: targets.Table,
		Timeline: &failAfter{n: 2}, SampleEvery: 50 * time.Millisecond})
	if !errors.Is(err, workers.ErrTimeline) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ErrTimeline wrapping ENOSPC", err)
	}
	if sum == nil || len(sum.Notes) == 0 || sum.Ops.OK == 0 {
		t.Errorf("summary = %+v, want the run's counts and a note", sum)
	}
}
