package workers

import (
	"fmt"
	"net/netip"
	"runtime"

	"github.com/nobufs/nobufs/scenarios"
)

// Cell places a run inside a lab cell: two network namespaces (client
// side, target side) joined by a veth pair. Package lab builds cells and
// fills this in; the engine only needs to know how to put a thread into
// either side and where the target side is.
//
// With a Cell in Options, Run
//   - starts the built-in target on a thread inside the target side,
//     listening on TargetAddr (port from target.listen): the listener, and
//     every connection it accepts, belong to the target's namespace;
//   - builds the kind (newKind) and reads the settings on a thread inside
//     the client side, so sockets a kind creates up front, and the sysctls
//     it reads, are the cell's;
//   - runs every worker goroutine on its own OS thread moved into the
//     client side for the whole run: every socket an operation creates
//     there is the cell's. Such a goroutine never unlocks its thread; when
//     it exits the runtime discards the thread, so no thread is ever left
//     in the cell's namespace for other goroutines to run on.
//
// A kind that creates sockets on goroutines of its own (not the worker
// calling op) must wrap that creation in Worker.InClient.
type Cell struct {
	// Name is the cell's run-unique name prefix (e.g. nb-1234-0).
	Name string
	// TargetAddr is the target side's address; the built-in target
	// listens there and the load is sent to it.
	TargetAddr netip.Addr
	// EnterClient and EnterTarget move the calling goroutine's OS thread
	// into the client's or the target's namespace. The caller has locked
	// the goroutine to its thread (runtime.LockOSThread) and never
	// unlocks it.
	EnterClient func() error
	EnterTarget func() error
	// Started, when set, is called once the target listens and before the
	// load starts, with the built-in target (for faults such as killing
	// it). It must not block.
	Started func(t *Target)
}

// onThreadIn runs fn on a fresh goroutine locked to an OS thread that
// enter moved into a namespace. The goroutine exits without unlocking, so
// the runtime discards the thread afterwards: nothing else ever runs on a
// thread left in that namespace.
func onThreadIn(enter func() error, fn func()) error {
	if enter == nil {
		fn()
		return nil
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread dies with this goroutine.
		if err := enter(); err != nil {
			done <- fmt.Errorf("enter namespace: %w", err)
			return
		}
		fn()
		done <- nil
	}()
	return <-done
}

// startCellTarget starts the built-in target inside the cell's target side,
// on the cell's target address and the port of target.listen.
func startCellTarget(cell *Cell, t scenarios.Target, o TargetOptions) (*Target, error) {
	ap, err := netip.ParseAddrPort(t.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", t.Listen, err)
	}
	listen := netip.AddrPortFrom(cell.TargetAddr, ap.Port()).String()
	var tgt *Target
	if err := onThreadIn(cell.EnterTarget, func() { tgt, err = ListenTargetWith(t.Builtin, listen, o) }); err != nil {
		return nil, fmt.Errorf("cell %s: target side: %w", cell.Name, err)
	}
	return tgt, err
}

// InClient runs fn with the sockets it creates landing in the run's
// client side: in a cell, on a fresh thread inside the client namespace
// (discarded afterwards); otherwise on the calling goroutine. A kind calls
// it when it creates sockets outside the worker goroutine that runs op.
func (w *Worker) InClient(fn func()) error {
	if c := w.run.cell; c != nil {
		return onThreadIn(c.EnterClient, fn)
	}
	fn()
	return nil
}
