package watch

import (
	"time"

	"golang.org/x/sys/unix"
)

// kernelTime converts a kernel log timestamp (time since boot on the
// monotonic clock, as printk stamps records) to the wall clock, with
// Go's monotonic reading, so that it subtracts exactly from the run's
// start; read is when the record was read, used when the clock cannot be
// read or the timestamp is none.
func kernelTime(k time.Duration, read time.Time) time.Time {
	if k <= 0 {
		return read
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return read
	}
	now := time.Now()
	ago := time.Duration(ts.Nano()) - k
	if ago < 0 {
		return now
	}
	return now.Add(-ago)
}
