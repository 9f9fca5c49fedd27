//go:build !linux

package workers

import (
	"errors"
	"os"
	"time"
)

var errNoOption = errors.New("not supported on this OS")

func setUserTimeout(fd int, d time.Duration) error { return errNoOption }

// SetPortRange fails: IP_LOCAL_PORT_RANGE is Linux-only.
func SetPortRange(fd uintptr, lo, hi int) error {
	return os.NewSyscallError("setsockopt", errNoOption)
}
