package kinds_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"

	"github.com/nobufs/nobufs/scenarios"
)

// loadShipped loads scenarios.d/FILE and shortens its run to d, so
// the tests exercise the shipped files within a few seconds each.
func loadShipped(t *testing.T, name string, d time.Duration) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.LoadFile(filepath.Join(testkit.Root(t), "scenarios.d", name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	sc.Stop.Duration = scenarios.Duration(d)
	return sc
}

// timelineExtra is what a test reads back from a run's timeline.
type timelineExtra struct {
	samples int
	// maxQueued is the largest extra.queued_bytes of any sample.
	maxQueued int64
	// topSeen says a sample listed at least one socket under extra.top.
	topSeen bool
}

// runDeadPeer runs sc and returns its summary and what its timeline shows.
func runDeadPeer(t *testing.T, sc *scenarios.Scenario) (*schema.Summary, timelineExtra) {
	t.Helper()
	var tl bytes.Buffer
	sum, err := workers.Run(context.Background(), sc, workers.Options{Kinds: kinds.Table, Targets: targets.Table, Timeline: &tl, SampleEvery: 250 * time.Millisecond})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var ex timelineExtra
	sc2 := bufio.NewScanner(&tl)
	sc2.Buffer(make([]byte, 1<<20), 1<<20)
	for sc2.Scan() {
		var line struct {
			Type  string `json:"type"`
			Extra struct {
				Queued int64             `json:"queued_bytes"`
				Top    []json.RawMessage `json:"top"`
			} `json:"extra"`
		}
		if err := json.Unmarshal(sc2.Bytes(), &line); err != nil {
			t.Fatalf("timeline line %q: %v", sc2.Text(), err)
		}
		if line.Type != "sample" {
			continue
		}
		ex.samples++
		ex.maxQueued = max(ex.maxQueued, line.Extra.Queued)
		ex.topSeen = ex.topSeen || len(line.Extra.Top) > 0
	}
	return sum, ex
}

// errorOf returns the count and first time of (phase, class) in s.
func errorOf(s *schema.Summary, phase errclass.Phase, class errclass.Class) (n uint64, firstAt float64, code int) {
	firstAt = -1
	for _, e := range s.Errors {
		if e.Phase == phase && e.Class == class {
			n += e.Count
			if firstAt < 0 || e.FirstAt < firstAt {
				firstAt, code = e.FirstAt, e.Code
			}
		}
	}
	return n, firstAt, code
}

func needDiag(t *testing.T) {
	t.Helper()
	if !workers.SockInfoSupported {
		t.Skipf("per-socket send-queue diagnostics are Linux-only (GOOS %s)", runtime.GOOS)
	}
}

// TestDeadPeerShipped runs the shipped dead-peer scenarios and checks
// what each must show, then compares them: ConstrainedSockets against the
// default, the reaper against doing nothing.
func TestDeadPeerShipped(t *testing.T) {
	needDiag(t)
	if testing.Short() {
		t.Skip("runs three scenarios of 2s each")
	}
	runs := map[string]*schema.DeadPeerReport{}
	sums := map[string]*schema.Summary{}
	for _, tt := range []struct {
		name string
		// sndbuf is the SO_SNDBUF the kernel must report (0: not set, autotuned).
		sndbuf int
		// blocks: writes must block (with a reaper they may not: a full
		// socket is often reaped before its write deadline).
		blocks bool
	}{
		// A non-reading peer: every socket's queue fills, writes then block.
		{"dead-peer-push.yaml", 0, true},
		// The same with SO_SNDBUF/SO_RCVBUF 8192 (Linux reports twice that).
		{"constrained-sockets.yaml", 16384, true},
		// The same with a reaper bounding the total.
		{"dead-peer-reaper.yaml", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := loadShipped(t, tt.name, 2*time.Second)
			sum, ex := runDeadPeer(t, sc)
			d := sum.DeadPeer
			if d == nil {
				t.Fatal("summary has no dead_peer section")
			}
			runs[tt.name], sums[tt.name] = d, sum
			if got, want := sum.Status, schema.StatusPassed; got != want {
				t.Errorf("status = %s, want %s (unmet %v)", got, want, sum.Unmet)
			}
			if tt.blocks && d.BlockedWrites == 0 {
				t.Errorf("blocked writes = 0, want > 0")
			}
			if n, _, _ := errorOf(sum, errclass.PhaseSend, errclass.ClassDeadline); n != d.BlockedWrites {
				t.Errorf("send/deadline errors = %d, want blocked writes %d", n, d.BlockedWrites)
			}
			if got, want := len(d.Top), min(sc.DeadPeer.Top, int(d.Connections)); got != want {
				t.Fatalf("top sockets = %d, want %d", got, want)
			}
			for i, s := range d.Top {
				if s.Queued <= 0 || s.NotSent == 0 || s.State != "established" {
					t.Errorf("top[%d] = %+v, want queued > 0, notsent > 0, established", i, s)
				}
				// A socket that lived to the end was last seen facing a zero window.
				// (Not with a reaper: its sockets are often young, still filling.)
				if tt.blocks && s.End == "open" && s.SndWnd != 0 {
					t.Errorf("top[%d] = %+v, open at the end: want snd_wnd 0 (the peer's window closed)", i, s)
				}
				if i > 0 && s.Queued > d.Top[i-1].Queued {
					t.Errorf("top[%d].queued %d > top[%d].queued %d: not sorted", i, s.Queued, i-1, d.Top[i-1].Queued)
				}
			}
			if !ex.topSeen || ex.maxQueued <= 0 {
				t.Errorf("timeline: max queued_bytes %d, top listed %v; want both", ex.maxQueued, ex.topSeen)
			}
			if tt.sndbuf > 0 && sum.Socket.EffectiveSndBuf != tt.sndbuf {
				t.Errorf("effective sndbuf = %d, want %d", sum.Socket.EffectiveSndBuf, tt.sndbuf)
			}
			if r := d.Reaper; sc.DeadPeer.Reaper.MaxQueued > 0 {
				if r == nil || r.Reaped == 0 || len(r.Reaps) == 0 {
					t.Fatalf("reaper = %+v, want reaps", r)
				}
				for i, rp := range r.Reaps {
					// A pass reaps until the total is under the bound: its
					// last reap (the last with that time) leaves it there.
					lastOfPass := i == len(r.Reaps)-1 || r.Reaps[i+1].AtSec != rp.AtSec
					if rp.Freed <= 0 || (lastOfPass && rp.TotalAfter > r.MaxQueued) {
						t.Errorf("reap %+v: want freed > 0 and, last of its pass, total after <= %d", rp, r.MaxQueued)
					}
				}
			} else if r != nil {
				t.Errorf("reaper report without a reaper: %+v", r)
			}
		})
	}
	def, con, rea := runs["dead-peer-push.yaml"], runs["constrained-sockets.yaml"], runs["dead-peer-reaper.yaml"]
	if def == nil || con == nil || rea == nil {
		t.Fatal("a run failed; no comparison")
	}
	// ConstrainedSockets: much less queued per socket than the default.
	if got, ref := con.Top[0].Queued, def.Top[0].Queued; got*10 > ref {
		t.Errorf("constrained top socket queued %d, default %d: want at most a tenth", got, ref)
	}
	// The reaper keeps the total near its bound; without it the total grows
	// with every stuck connection.
	bound := sums["dead-peer-reaper.yaml"].Scenario.DeadPeer.Reaper.MaxQueued
	if def.MeanQueuedTotal <= 2*bound {
		t.Errorf("without reaper: mean total queued %d, want > %d (2 × the reaper's bound) for the comparison to mean anything", def.MeanQueuedTotal, 2*bound)
	}
	if rea.MeanQueuedTotal > 2*bound || rea.MeanQueuedTotal*2 > def.MeanQueuedTotal {
		t.Errorf("with reaper: mean total queued %d; want <= %d (2 × bound) and under half of %d (no reaper)", rea.MeanQueuedTotal, 2*bound, def.MeanQueuedTotal)
	}
}

// TestDeadPeerUserTimeout: with TCP_USER_TIMEOUT a peer that is alive but
// never reads kills the connection: the blocked write returns ETIMEDOUT,
// the next EPIPE (measured on loopback: ~1.5 s with 1s).
func TestDeadPeerUserTimeout(t *testing.T) {
	needDiag(t)
	sc := loadShipped(t, "dead-peer-user-timeout.yaml", 20*time.Second)
	// End soon after the first ETIMEDOUT, however slow the machine is; the
	// EPIPE comes with the next write, the redial 500ms later.
	sc.Stop.OnFailure, sc.Stop.AfterFailure = true, scenarios.Duration(time.Second)
	sum, _ := runDeadPeer(t, sc)
	nt, atT, codeT := errorOf(sum, errclass.PhaseSend, errclass.ClassETIMEDOUT)
	np, atP, codeP := errorOf(sum, errclass.PhaseSend, errclass.ClassEPIPE)
	if nt == 0 || np == 0 {
		t.Fatalf("send/etimedout %d, send/epipe %d; want both (errors %+v)", nt, np, sum.Errors)
	}
	if codeT != 110 || codeP != 32 {
		t.Errorf("codes etimedout %d, epipe %d; want 110, 32", codeT, codeP)
	}
	if atP < atT {
		t.Errorf("epipe first at %.3fs before etimedout at %.3fs; want etimedout then epipe", atP, atT)
	}
	if f := sum.TimeToFailure; f == nil || f.Class != errclass.ClassETIMEDOUT {
		t.Errorf("time to failure = %+v, want etimedout", f)
	}
	if d := sum.DeadPeer; d.Connections <= uint64(sc.Load.Workers) {
		t.Errorf("connections = %d, want more than %d (workers dial again after the timeout)", d.Connections, sc.Load.Workers)
	}
}

// TestDeadPeerTargets checks the target settings: a non-reader reads
// exactly read_bytes per connection; a vanish target (the shipped
// dead-peer-vanish.yaml) resets its connections, which the writer sees as
// ECONNRESET then EPIPE.
func TestDeadPeerTargets(t *testing.T) {
	nonReader := scenarios.Default(scenarios.KindDeadPeer)
	nonReader.Name = "non-reader-after-n"
	nonReader.Target.Builtin = scenarios.TargetNonReader
	nonReader.Load.Workers = 3
	nonReader.DeadPeer.ReadBytes = 100000
	nonReader.Stop.Duration = scenarios.Duration(1500 * time.Millisecond)
	vanish := loadShipped(t, "dead-peer-vanish.yaml", 20*time.Second)
	// End soon after the first reset, however slow the machine is.
	vanish.Stop.OnFailure, vanish.Stop.AfterFailure = true, scenarios.Duration(300*time.Millisecond)
	tests := []struct {
		name string
		sc   *scenarios.Scenario
		// wantRead is what the target must have read in all (0: any).
		wantRead uint64
		// wantReset: econnreset then epipe at the writer, vanished > 0.
		wantReset bool
	}{
		// Reads 100000 bytes of each of 3 connections, then stops.
		{"non-reader-after-n", &nonReader, 3 * 100000, false},
		// Resets each connection vanish_after accepting it.
		{"vanish", vanish, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := scenarios.Validate(tt.sc); err != nil {
				t.Fatal(err)
			}
			sum, _ := runDeadPeer(t, tt.sc)
			if tt.wantRead > 0 && sum.Target.BytesRead != tt.wantRead {
				t.Errorf("target read %d bytes, want %d", sum.Target.BytesRead, tt.wantRead)
			}
			if !tt.wantReset {
				return
			}
			nr, atR, codeR := errorOf(sum, errclass.PhaseSend, errclass.ClassECONNRESET)
			np, atP, _ := errorOf(sum, errclass.PhaseSend, errclass.ClassEPIPE)
			if nr == 0 || np == 0 || atP < atR || codeR != 104 {
				t.Errorf("send/econnreset %d (first %.3fs, code %d), send/epipe %d (first %.3fs); want econnreset (104) then epipe; errors %+v; ops %+v; target %+v; dead_peer %+v", nr, atR, codeR, np, atP, sum.Errors, sum.Ops, sum.Target, sum.DeadPeer)
			}
			if sum.Target.Vanished == 0 {
				t.Errorf("target vanished 0 connections, want > 0")
			}
		})
	}
}

// TestUDPPushLoopback: on plain loopback nothing drops, so every send
// succeeds — with IP_RECVERR on, read back from the socket.
func TestUDPPushLoopback(t *testing.T) {
	sc := loadShipped(t, "udp-push.yaml", time.Second)
	sum, _ := runDeadPeer(t, sc)
	u := sum.UDPPush
	if u == nil {
		t.Fatal("summary has no udp_push section")
	}
	if u.Sent == 0 || sum.Ops.Failed != 0 || u.ENOBUFS != 0 {
		t.Errorf("sent %d, failed %d, enobufs %d; want sends, no failures (errors %+v)", u.Sent, sum.Ops.Failed, u.ENOBUFS, sum.Errors)
	}
	if want := runtime.GOOS == "linux"; u.RecvErr != want {
		t.Errorf("IP_RECVERR read back %v, want %v", u.RecvErr, want)
	}
	if sum.Target.Datagrams == 0 || sum.Target.Datagrams > u.Sent {
		t.Errorf("sink received %d datagrams of %d sent", sum.Target.Datagrams, u.Sent)
	}
	if sum.Status != schema.StatusPassed {
		t.Errorf("status %s, unmet %v", sum.Status, sum.Unmet)
	}
}

// TestDeadPeerReaperMaxOps checks that a run with a reaper that ends by
// max_ops (a drain: the run's context is not cancelled by it) returns once
// its workers are done, not when stop.duration finally cancels the reaper.
func TestDeadPeerReaperMaxOps(t *testing.T) {
	sc := loadShipped(t, "dead-peer-reaper.yaml", time.Hour)
	sc.Stop.MaxOps = 16
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		sum *schema.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := workers.Run(ctx, sc, workers.Options{Kinds: kinds.Table, Targets: targets.Table})
		done <- result{sum, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		cancel() // let Run and its reaper end before goleak looks
		<-done
		t.Fatal("Run did not return after max_ops was reached (the reaper outlives the workers)")
	}
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if got, want := r.sum.StopReason, schema.StopMaxOps; got != want {
		t.Errorf("stop reason: got %q, want %q", got, want)
	}
}
