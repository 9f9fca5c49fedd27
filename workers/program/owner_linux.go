package program

import (
	"fmt"

	"github.com/prometheus/procfs"
)

// startTime is pid's start time (clock ticks after boot, /proc/PID/stat
// field 22): with the PID it names one process, whatever PIDs are reused.
// A zombie has ended (where PID 1 does not reap, a dead nobufs stays one):
// it is an error.
func startTime(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	if st.State == "Z" || st.State == "X" {
		return 0, fmt.Errorf("pid %d has ended (state %s)", pid, st.State)
	}
	return st.Starttime, nil
}
