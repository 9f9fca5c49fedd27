package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// TestStallWatchdog: writes to a peer that never reads block once the
// buffers are full; no byte moves and no write ends well, and the
// watchdog records one stall, the run's failure.
func TestStallWatchdog(t *testing.T) {
	sc := parseScenario(t, `
name: stall
kind: dead-peer
load: {workers: 2}
socket: {io_timeout: 200ms}
stop: {duration: 20s, on_failure: true, stall: 1s}
failure: {classes: [stall]}
`)
	sum, _ := runScenario(t, context.Background(), sc, Options{SampleEvery: 100 * time.Millisecond})
	f := sum.TimeToFailure
	if f == nil {
		t.Fatalf("time to failure: got none, want a stall (errors %+v)", sum.Errors)
	}
	if f.Class != errclass.ClassStall || f.Phase != errclass.PhaseOther || f.Code != 0 {
		t.Errorf("time to failure: got %s/%s(%d), want other/stall(0)", f.Phase, f.Class, f.Code)
	}
	if f.AtSec < 1 {
		t.Errorf("stall at %.3fs: want at least the 1s bound", f.AtSec)
	}
	if sum.StopReason != schema.StopFailure {
		t.Errorf("stop reason: got %q, want %q", sum.StopReason, schema.StopFailure)
	}
	var stalls uint64
	for _, e := range sum.Errors {
		if e.Class == errclass.ClassStall {
			stalls += e.Count
		}
	}
	if stalls != 1 {
		t.Errorf("stall errors: got %d, want 1", stalls)
	}
	if got, want := sum.Ops.OK+sum.Ops.Failed+sum.Ops.Aborted, sum.Ops.Issued; got != want {
		t.Errorf("ok+failed+aborted: got %d, want issued %d (a stall is not an operation)", got, want)
	}
}

// TestStallNotWhileProgressing: a run that keeps connecting never stalls,
// and without stop.stall the watchdog is off.
func TestStallNotWhileProgressing(t *testing.T) {
	for _, stall := range []string{"300ms", "0"} {
		sc := parseScenario(t, `
name: busy
kind: port-exhaustion
load: {workers: 1}
stop: {duration: 1s, stall: `+stall+`}
failure: {classes: [stall]}
`)
		sum, _ := runScenario(t, context.Background(), sc, Options{SampleEvery: 50 * time.Millisecond})
		if sum.TimeToFailure != nil {
			t.Errorf("stall %s: time to failure %+v, want none", stall, sum.TimeToFailure)
		}
		if sum.Ops.OK == 0 {
			t.Errorf("stall %s: no operation succeeded", stall)
		}
	}
	if workers.StallKey.Class != errclass.ClassStall {
		t.Errorf("StallKey class: got %s, want stall", workers.StallKey.Class)
	}
}
