package sut

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv makes the test binary a helper program instead of running tests.
const helperEnv = "NOBUFS_SUT_HELPER"

// TestMain runs the helper modes, or the tests with a goroutine leak check.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// helperModes are further helper modes, from platform test files.
var helperModes = map[string]func(args []string) int{}
