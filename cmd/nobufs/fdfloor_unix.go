//go:build unix

package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// minFDs is the fewest descriptors nobufs starts with: its own files, the
// worker's status pipe, the runtime's poller, the timeline and summary, a
// listener and a few connections. Below it the Go runtime itself can fail
// ("netpollinit failed"), with exit status 2 — which must mean bad input.
const minFDs = 64

// fdFloor refuses to start with fewer than minFDs descriptors allowed.
// Go has raised the soft limit to the hard one by now.
func fdFloor() error {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return nil // cannot tell: go on
	}
	if uint64(r.Cur) < minFDs {
		return fmt.Errorf("RLIMIT_NOFILE allows %d open files (hard limit %d); nobufs needs at least %d to start (raise it: ulimit -n %d); a scenario's own, smaller limit goes in limits.nofile", uint64(r.Cur), uint64(r.Max), minFDs, minFDs)
	}
	return nil
}
