package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// envRunMain makes the test binary act as the nobufs command, so tests can
// start a second process (e.g. a standalone target) without building one.
const envRunMain = "NOBUFS_TEST_RUN_MAIN"

// TestMain runs the command when envRunMain is set, the tests otherwise,
// failing them if any goroutine is still running when they end.
func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Exit(Main())
	}
	goleak.VerifyTestMain(m)
}
