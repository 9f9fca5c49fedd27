//go:build unix

package lab

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockExclusive takes an exclusive flock on f (the lock holder's).
func lockExclusive(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX) }
