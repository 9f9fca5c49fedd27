package program

import (
	"fmt"

	"github.com/prometheus/procfs"
)

// startTime is pid's start time (clock ticks after boot, /proc/PID/stat
// field 22): with the PID it names one process, whatever PIDs are reused.
func startTime(pid int) (uint64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	return st.Starttime, nil
}
