package vmlab

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestDir holds what the VM tests build once per test binary (a static
// nobufs); removed when the tests end. Exported to the external tests
// (package vmlab_test) only: this is a _test.go file.
var TestDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "vmlab-test-")
	if err != nil {
		panic(err)
	}
	TestDir = d
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(TestDir)
		os.Exit(code)
	}))
}
