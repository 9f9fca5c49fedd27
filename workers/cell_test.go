package workers_test

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"
)

// TestRunCellHooks checks the engine's side of a cell with hooks that stay
// on the host's loopback: the target is started through EnterTarget, and
// the settings, the kind and every worker through EnterClient.
func TestRunCellHooks(t *testing.T) {
	sc, err := scenarios.Parse("cell.yaml", []byte("name: c\nkind: port-exhaustion\nload: {workers: 3}\nstop: {max_ops: 30}\ncell: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var client, target, started atomic.Int32
	var gotTarget atomic.Value
	sum, err := workers.Run(context.Background(), sc, Options{Kinds: kinds.Table, Targets: targets.Table, Namespaces: &workers.Namespaces{
		Name:        "fake",
		TargetAddr:  netip.MustParseAddr("127.0.0.1"),
		EnterClient: func() error { client.Add(1); return nil },
		EnterTarget: func() error { target.Add(1); return nil },
	}, Started: func(t workers.Target) { started.Add(1); gotTarget.Store(t) }})
	if err != nil {
		t.Fatal(err)
	}
	// On Linux port-exhaustion runs on event loops (workers.Looper): one
	// per P, at most one per worker; each enters the client side.
	loops := 3
	if runtime.GOOS == "linux" {
		loops = min(runtime.GOMAXPROCS(0), 3)
	}
	if got, want := client.Load(), int32(loops+2); got != want {
		t.Errorf("EnterClient calls = %d, want %d (%d worker goroutines, the settings, the kind)", got, want, loops)
	}
	if got, want := target.Load(), int32(1); got != want {
		t.Errorf("EnterTarget calls = %d, want %d", got, want)
	}
	if started.Load() != 1 || gotTarget.Load() == nil {
		t.Errorf("Started calls = %d with target %v, want 1 with the built-in target", started.Load(), gotTarget.Load())
	}
	if got, want := sum.Ops.Issued, uint64(30); got != want || sum.Ops.Failed != 0 || sum.Ops.OK == 0 {
		t.Errorf("ops = %+v, want %d issued, some ok and none failed", sum.Ops, want)
	}
}

// TestRunCellEnterFails: a worker that cannot enter the client side fails
// the run with the reason, and no operation runs on the host instead.
func TestRunCellEnterFails(t *testing.T) {
	sc, err := scenarios.Parse("cell.yaml", []byte("name: c\nkind: port-exhaustion\nload: {workers: 2}\nstop: {max_ops: 30}\ncell: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	errNo := errors.New("no namespace")
	var calls atomic.Int32
	_, err = workers.Run(context.Background(), sc, Options{Kinds: kinds.Table, Targets: targets.Table, Namespaces: &workers.Namespaces{
		Name:       "fake",
		TargetAddr: netip.MustParseAddr("127.0.0.1"),
		EnterClient: func() error {
			if calls.Add(1) > 2 { // settings and kind succeed, workers fail
				return errNo
			}
			return nil
		},
		EnterTarget: func() error { return nil },
	}})
	if !errors.Is(err, errNo) {
		t.Errorf("Run error = %v, want it to wrap %v", err, errNo)
	}
}
