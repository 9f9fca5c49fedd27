package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// startTarget starts `nobufs target ARGS` as a second process and returns
// it with the address it printed. The process is killed (by PID) and
// waited for when the test ends.
func startTarget(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, addr, _ := startTargetLines(t, args...)
	return cmd, addr
}

// startTargetLines is startTarget that also returns the lines the target
// prints after its address.
func startTargetLines(t *testing.T, args ...string) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"target", "--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// --quiet: the address line, then the final counters; a few more
	// lines are dropped rather than block the reader.
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	// Kill (by PID), read to the end of its output, then reap it.
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range lines {
		}
		_ = cmd.Wait()
	})
	select {
	case line := <-lines:
		var addr, mode string
		if _, err := fmt.Sscanf(line, "listening %s mode %s", &addr, &mode); err != nil {
			t.Fatalf("target printed %q: %v", line, err)
		}
		return cmd, addr, lines
	case <-time.After(30 * time.Second):
		t.Fatal("target printed no address within 30s")
	}
	return nil, "", nil
}

// TestStandaloneTargetKilled: a non-reader served by a second process
// makes the sender's writes block; killing that process by PID (its
// connections reset: it had unread data) makes the sender see ECONNRESET,
// then EPIPE.
func TestStandaloneTargetKilled(t *testing.T) {
	proc, addr := startTarget(t, "--mode", scenarios.TargetNonReader, "--listen", "127.0.0.1:0")

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
	opts := workers.Options{
		SampleEvery: 100 * time.Millisecond,
		// Kill the target once the sender's writes block: the peer is
		// then a non-reader with data queued on both sides.
		Progress: func(p workers.Progress) {
			if p.Classes["deadline"] > 0 {
				killOnce.Do(func() { killErr = proc.Process.Kill() })
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
		if e.Phase == workers.PhaseSend {
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

// TestTargetFlags checks the target command's flag handling without
// serving anything.
func TestTargetFlagsDeadPeer(t *testing.T) {
	tests := []struct {
		args []string
		want int
		// msg is a piece of what stderr must say.
		msg string
	}{
		// An unknown mode is bad input.
		{[]string{"target", "--mode", "flood"}, exitUsage, `--mode "flood"`},
		// A negative byte count is bad input.
		{[]string{"target", "--mode", "non-reader", "--read-bytes", "-1"}, exitUsage, "--read-bytes"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb strings.Builder
			st := &state{stdout: &out, stderr: &errb}
			if got := execute(context.Background(), st, tt.args); got != tt.want {
				t.Errorf("exit = %d, want %d (stderr %q)", got, tt.want, errb.String())
			}
			if !strings.Contains(errb.String(), tt.msg) {
				t.Errorf("stderr = %q, want it to mention %q", errb.String(), tt.msg)
			}
		})
	}
}

// TestStandaloneUDPSink: udp-push against a udp-sink served by a second
// process; on SIGINT (by PID) the sink stops and prints what it received.
func TestStandaloneUDPSink(t *testing.T) {
	proc, addr, lines := startTargetLines(t, "--mode", scenarios.TargetUDPSink, "--listen", "127.0.0.1:0")
	sc := scenarios.Default(scenarios.KindUDPPush)
	sc.Name = "standalone-udp"
	sc.Target.Address = addr
	sc.Load.Rate = 500
	sc.Stop.MaxOps = 200
	sc.Stop.Duration = scenarios.Duration(20 * time.Second)
	if err := scenarios.Validate(&sc); err != nil {
		t.Fatal(err)
	}
	sum, err := workers.Run(context.Background(), &sc, workers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sum.UDPPush.Sent, uint64(200); got != want || sum.Ops.Failed != 0 {
		t.Fatalf("sent %d, failed %d; want %d sent, none failed (errors %+v)", got, sum.Ops.Failed, want, sum.Errors)
	}
	if err := proc.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case line, ok := <-lines:
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
