package vm

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// testDir holds what the boot tests build once per test binary (the test
// /init and its image); removed when the tests end.
var testDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		panic(err)
	}
	testDir = d
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(testDir)
		os.Exit(code)
	}))
}
