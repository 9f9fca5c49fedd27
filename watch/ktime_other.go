//go:build !linux

package watch

import "time"

// kernelTime is the read time: kernel log records are Linux's.
func kernelTime(_ time.Duration, read time.Time) time.Time { return read }
