package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestAddressSpaceCrash: a worker that runs out of address space (ulimit
// -v) dies of a Go fatal error, which exits 2 — the code of bad input;
// the supervisor reports it as a crash, exit 3 (issue 9 item 12). It runs
// the binary as shipped (static, CGO_ENABLED=0, built here): this test
// binary's cgo runtime reserves too much address space to start its own
// supervisor in 800 MB.
func TestAddressSpaceCrash(t *testing.T) {
	if runtime.GOOS != "linux" || testing.Short() {
		t.Skip("the supervisor is Linux's; builds a binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the static binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nobufs")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sc := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(sc, []byte("name: big\nkind: port-exhaustion\nload: {workers: 10000}\nport_exhaustion: {close_first: server}\nstop: {duration: 5s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "ulimit -v 800000; exec "+bin+" run -q --out "+filepath.Join(dir, "res")+" "+sc)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInternal {
		t.Fatalf("exit = %v, want %d; stderr:\n%.2000s", err, exitInternal, stderr.String())
	}
	for _, want := range []string{"nobufs: the worker process crashed", "nobufs: results so far are in "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr has no %q:\n%.3000s", want, stderr.String()[max(0, len(stderr.String())-3000):])
		}
	}
}
