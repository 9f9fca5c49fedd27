package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// startTarget starts `nobufs target --quiet ARGS` (startStandalone) and
// returns it with the address it printed.
func startTarget(t *testing.T, args ...string) (*standalone, string) {
	t.Helper()
	s := startStandalone(t, append([]string{"--quiet"}, args...)...)
	m := listeningRE.FindStringSubmatch(s.first)
	if m == nil {
		t.Fatalf("target printed %q", s.first)
	}
	return s, m[1]
}

// TestStandaloneTargetKilled: a non-reader served by a second process
// makes the sender's writes block; killing that process by PID (its
// connections reset: it had unread data) makes the sender see ECONNRESET,
// then EPIPE.
func TestStandaloneTargetKilled(t *testing.T) {
	tgt, addr := startTarget(t, "--mode", scenarios.TargetNonReader, "--listen", "127.0.0.1:0")

	sc := scenarios.Default(scenarios.KindDeadPeer)
	sc.Name = "standalone-killed"
	sc.Target.Address = addr
	sc.Load.Workers = 2
	sc.Failure.Classes = []string{"econnreset"}
	sc.Stop = scenarios.Stop{Duration: scenarios.Duration(20 * time.Second), MaxOps: 1_000_000, OnFailure: true,
		AfterFailure: scenarios.Duration(500 * time.Millisecond)}
	if err := scenarios.Validate(&sc); err != nil {
		t.Fatal(err)
	}
	var killOnce sync.Once
	var killErr error
	opts := workers.Options{Kinds: kinds.Table, Targets: targets.Table,
		SampleEvery: 100 * time.Millisecond,
		// Kill the target once the sender's writes block: the peer is
		// then a non-reader with data queued on both sides.
		Progress: func(p workers.Progress) {
			if p.Classes["deadline"] > 0 {
				killOnce.Do(func() { killErr = tgt.cmd.Process.Kill() })
			}
		},
	}
	sum, err := workers.Run(context.Background(), &sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if killErr != nil {
		t.Fatalf("kill target: %v", killErr)
	}
	if sum.DeadPeer == nil || sum.DeadPeer.BlockedWrites == 0 {
		t.Fatalf("dead_peer = %+v, want blocked writes before the kill", sum.DeadPeer)
	}
	first := map[string]float64{}
	for _, e := range sum.Errors {
		if e.Phase == errclass.PhaseSend {
			first[string(e.Class)] = e.FirstAt
		}
	}
	reset, okR := first["econnreset"]
	pipe, okP := first["epipe"]
	if !okR || !okP || pipe < reset {
		t.Errorf("send errors %v: want econnreset, then epipe", sum.Errors)
	}
	if f := sum.TimeToFailure; f == nil || f.Class != "econnreset" || f.Code != 104 {
		t.Errorf("time to failure = %+v, want econnreset (104)", f)
	}
}

// TestStandaloneUDPSink: udp-push against a udp-sink served by a second
// process; on SIGINT (by PID) the sink stops and prints what it received.
func TestStandaloneUDPSink(t *testing.T) {
	tgt, addr := startTarget(t, "--mode", scenarios.TargetUDPSink, "--listen", "127.0.0.1:0")
	sc := scenarios.Default(scenarios.KindUDPPush)
	sc.Name = "standalone-udp"
	sc.Target.Address = addr
	sc.Load.Rate = 500
	sc.Stop.MaxOps = 200
	sc.Stop.Duration = scenarios.Duration(20 * time.Second)
	if err := scenarios.Validate(&sc); err != nil {
		t.Fatal(err)
	}
	sum, err := workers.Run(context.Background(), &sc, workers.Options{Kinds: kinds.Table, Targets: targets.Table})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sum.UDPPush.Sent, uint64(200); got != want || sum.Ops.Failed != 0 {
		t.Fatalf("sent %d, failed %d; want %d sent, none failed (errors %+v)", got, sum.Ops.Failed, want, sum.Errors)
	}
	if err := tgt.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case line, ok := <-tgt.lines:
		var acc, active, read, dgrams uint64
		if _, err := fmt.Sscanf(line, "accepted %d active %d read %d datagrams %d", &acc, &active, &read, &dgrams); !ok || err != nil {
			t.Fatalf("final line %q: %v", line, err)
		}
		if dgrams == 0 || dgrams > 200 || read != dgrams*uint64(sc.UDPPush.Size) {
			t.Errorf("sink received %d datagrams, %d bytes; want 1–200 of %d bytes", dgrams, read, sc.UDPPush.Size)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sink printed no final counters within 30s of SIGINT")
	}
}
