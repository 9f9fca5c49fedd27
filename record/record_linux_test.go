package record

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"golang.org/x/sys/unix"
)

// TestSummaryUnderFdExhaustion: with every descriptor the process may open
// in use (RLIMIT_NOFILE at the count open), the summary is still written,
// because its file was opened when the run started.
func TestSummaryUnderFdExhaustion(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors through /proc")
	}
	r, err := Create(t.TempDir(), "t", testScenario(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Timeline.Write([]byte(`{"type":"start","schema":1}` + "\n")); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(len(es)) // ReadDir's own descriptor is closed again
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// Runtime-internal descriptors may come and go; make sure we are at the limit.
	var held []*os.File
	for i := 0; i < 64; i++ {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	_, openErr := os.Open(os.DevNull)
	werr := r.WriteSummary(&schema.Summary{Schema: schema.SchemaVersion, Status: schema.StatusPassed})
	for _, f := range held {
		f.Close()
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(openErr, syscall.EMFILE) {
		t.Fatalf("opening a file at the limit gave %v, want EMFILE (the test did not exhaust descriptors)", openErr)
	}
	if werr != nil {
		t.Fatalf("WriteSummary at EMFILE: %v", werr)
	}
	s, err := ReadSummary(r.Dir)
	if err != nil || s.Status != schema.StatusPassed {
		t.Fatalf("ReadSummary = %+v, %v", s, err)
	}
}

// TestWriteSummaryFullDisk: a summary that cannot be written (ENOSPC, as
// /dev/full answers) fails with a SummaryError naming the partial file.
func TestWriteSummaryFullDisk(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	r := &Run{Dir: t.TempDir(), summary: f}
	err = r.WriteSummary(&schema.Summary{Schema: schema.SchemaVersion})
	var se *SummaryError
	if !errors.As(err, &se) || !errors.Is(err, syscall.ENOSPC) || se.Partial != "/dev/full" {
		t.Errorf("err = %v, want a SummaryError wrapping ENOSPC naming /dev/full", err)
	}
}
