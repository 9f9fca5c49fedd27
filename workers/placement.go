package workers

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// Placement is where a run's client and target live: this host, a lab
// cell's pair of network namespaces, and in time a VM or another machine.
// Run runs the scenario there, with opts adjusted to the place (for a
// cell, Namespaces), and fills in the place's part of the summary.
type Placement interface {
	Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*schema.Summary, error)
}

// Host is the placement of a run on this host: client and target in this
// process's network namespace, the target on loopback.
type Host struct{}

// Run runs sc on this host.
func (Host) Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*schema.Summary, error) {
	return Run(ctx, sc, opts)
}

// Namespaces places a run in a pair of network namespaces (a lab cell;
// package lab builds them): the engine only needs to know how to move a
// thread into either side and where the target side is.
//
// With Namespaces in Options, Run
//   - starts the built-in target on a thread inside the target side,
//     listening on TargetAddr (port from target.listen): the listener, and
//     every connection it accepts, belong to the target's namespace;
//   - builds the kind and reads the settings on a thread inside the client
//     side, so sockets a kind creates up front, and the sysctls it reads,
//     are the client's;
//   - runs every worker goroutine on its own OS thread moved into the
//     client side for the whole run. Such a goroutine never unlocks its
//     thread; when it exits the runtime discards the thread, so no thread
//     is ever left in a namespace for other goroutines to run on.
//
// A kind that creates sockets on goroutines of its own must wrap that in
// Env.InClient.
type Namespaces struct {
	// Name names the place in messages (the cell, nb-…).
	Name string
	// ClientPath is the client namespace's path (/run/netns/…), where the
	// host state is sampled; TargetPath the target's (a launched target
	// runs there, and the server's side is watched there).
	ClientPath string
	TargetPath string
	// TargetAddr is the target side's address; the built-in target
	// listens there and the load is sent to it.
	TargetAddr netip.Addr
	// EnterClient and EnterTarget move the calling goroutine's OS thread
	// into the client's or the target's namespace. The caller has locked
	// the goroutine to its thread and never unlocks it.
	EnterClient func() error
	EnterTarget func() error
}

// onThreadIn runs fn on a fresh goroutine locked to an OS thread that
// enter moved into a namespace. The goroutine exits without unlocking, so
// the runtime discards the thread afterwards: nothing else ever runs on a
// thread left in that namespace. With enter nil, fn runs here.
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
