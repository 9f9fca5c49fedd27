package workers

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// benchWorker is a worker of a run that counts eaddrnotavail as failure.
func benchWorker() *Worker {
	sc := scenarios.Default(scenarios.KindPortExhaustion)
	r := &run{sc: &sc, start: time.Now(), failSet: map[errclass.Class]bool{errclass.ClassEADDRNOTAVAIL: true}}
	w := newWorker(0, r)
	r.workers = []*Worker{w}
	return w
}

// BenchmarkRecordEvent is the harness's cost per recorded event, what
// every operation pays on top of its system calls (goal: ≤ 50 ns):
//
//	ok:      an operation that succeeded — count and histogram (OK);
//	connect: a connection opened and closed — histogram, open gauge and
//	         its peaks (Connected, Closed);
//	fail:    a failed connect as Go's dialer returns it
//	         (*net.OpError → *os.SyscallError → Errno) — classify, count,
//	         the error table (Fail); fail-raw as the event loop returns it.
func BenchmarkRecordEvent(b *testing.B) {
	ctx := context.Background()
	b.Run("ok", func(b *testing.B) {
		w := benchWorker()
		d := 180 * time.Microsecond
		for b.Loop() {
			w.OK(d)
		}
	})
	b.Run("connect", func(b *testing.B) {
		w := benchWorker()
		d := 180 * time.Microsecond
		for b.Loop() {
			w.Connected(d)
			w.Closed()
		}
	})
	b.Run("fail", func(b *testing.B) {
		w := benchWorker()
		err := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		var op uint64
		for b.Loop() {
			op++
			w.Fail(ctx, op, errclass.PhaseConnect, err)
		}
	})
	b.Run("fail-raw", func(b *testing.B) {
		// The event loop's errors: *os.SyscallError → Errno, no OpError.
		w := benchWorker()
		err := os.NewSyscallError("connect", syscall.ECONNREFUSED)
		var op uint64
		for b.Loop() {
			op++
			w.Fail(ctx, op, errclass.PhaseConnect, err)
		}
	})
}
