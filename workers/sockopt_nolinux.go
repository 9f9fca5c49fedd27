//go:build !linux

package workers

import (
	"errors"
	"os"
	"time"
)

var errNoOption = errors.New("not supported on this OS")

func setUserTimeout(fd int, d time.Duration) error { return errNoOption }

func setPortRange(fd uintptr, lo, hi int) error {
	return os.NewSyscallError("setsockopt", errNoOption)
}
