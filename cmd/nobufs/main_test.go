package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the command itself when NOBUFS_TEST_MAIN=1, so a test can
// start nobufs as a second process (os.Args[0] with that variable set);
// otherwise it runs the tests and fails if a goroutine is left running.
func TestMain(m *testing.M) {
	if os.Getenv("NOBUFS_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	goleak.VerifyTestMain(m)
}
