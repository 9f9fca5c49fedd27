//go:build unix

package workers

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
)

// applyLimits sets the scenario's rlimits for the run and returns a
// function that restores the previous ones. Go raises the soft
// RLIMIT_NOFILE to the hard limit at start-up, so a small limit has to be
// set here, after start.
func applyLimits(l scenarios.Limits) (restore func(), err error) {
	if l.NoFile == 0 {
		return func() {}, nil
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		return nil, fmt.Errorf("limits.nofile: getrlimit: %w", err)
	}
	nl := old
	setRlimCur(&nl, l.NoFile)
	if l.NoFile > rlimMax(old) {
		return nil, fmt.Errorf("limits.nofile: %d is above the hard limit %d of this process", l.NoFile, rlimMax(old))
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &nl); err != nil {
		return nil, fmt.Errorf("limits.nofile: setrlimit: %w", err)
	}
	return func() { _ = unix.Setrlimit(unix.RLIMIT_NOFILE, &old) }, nil
}
