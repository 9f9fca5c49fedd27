//go:build linux

package lab

import (
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// envHoldLock makes the test binary a lock holder: it takes the flock on
// the file the variable names, says so on stdout and sleeps (bounded), so
// tests can play an owner that dies by SIGKILL.
const envHoldLock = "NOBUFS_LAB_TEST_HOLD_LOCK"

// envHoldCell makes the test binary make one cell, print its name and PID
// and hold it (bounded): a live owner in another process (and, run under
// unshare -p, another PID namespace).
const envHoldCell = "NOBUFS_LAB_TEST_HOLD_CELL"

// TestMain fails the package's tests if any goroutine is still running
// when they end; as a lock holder it never runs them.
func TestMain(m *testing.M) {
	if p := os.Getenv(envHoldLock); p != "" {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err == nil {
			err = lockExclusive(f)
		}
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(30 * time.Second)
		os.Exit(0)
	}
	if os.Getenv(envHoldCell) != "" {
		c, err := New(nil)
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Stdout.WriteString(c.Name + " " + strconv.Itoa(os.Getpid()) + "\n")
		time.Sleep(30 * time.Second)
		_ = c.Close()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
