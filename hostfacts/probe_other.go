//go:build !linux

package hostfacts

import "errors"

// ErrNotLinux is returned by the probes that read Linux facts only.
var ErrNotLinux = errors.New("read on Linux only")

// PortRangeOptionSupported reports false: IP_LOCAL_PORT_RANGE is Linux's.
func PortRangeOptionSupported() bool { return false }

// NoFile returns ErrNotLinux: doctor's facts are Linux's.
func NoFile() (Rlimit, error) { return Rlimit{}, ErrNotLinux }
