package workers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"
)

// connrefRate builds and runs shared/peers/connref (the C epoll reference
// for loopback churn) and returns its connects per second, or skips.
func connrefRate(b *testing.B, inflight string) float64 {
	b.Helper()
	src, _ := filepath.Abs("../../shared/peers/connref.c")
	if e := os.Getenv("NOBUFS_CONNREF"); e != "" {
		src = e // a worktree away from shared/
	}
	if _, err := os.Stat(src); err != nil {
		b.Skip("reference not found: ../shared/peers/connref.c beside the repository")
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		b.Skip("gcc not found: cannot build the reference")
	}
	bin := filepath.Join(b.TempDir(), "connref")
	if out, err := exec.Command(cc, "-O2", "-pthread", "-o", bin, src).CombinedOutput(); err != nil {
		b.Fatalf("build connref: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-m", "churn", "-d", "2", "-w", "1", "-c", inflight, "-t", "2").CombinedOutput()
	if err != nil {
		b.Fatalf("connref: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`conns_per_s=([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("connref output has no conns_per_s: %s", out)
	}
	r, _ := strconv.ParseFloat(string(m[1]), 64)
	return r
}

// BenchmarkChurnVsConnref measures nobufs's loopback connect+close rate
// (closed loop, 64 in flight, RST close so no TIME_WAIT limits it) against
// the C reference measured in the same run with 64 connects in flight on
// 2 threads (goal: ratio ≥ 0.85; `make bench` interleaves repetitions).
// ratio = nobufs / reference; the metric to watch is the ratio, not the
// absolute rates, on a shared machine.
func BenchmarkChurnVsConnref(b *testing.B) {
	ref := connrefRate(b, "64")
	sc, err := scenarios.Parse("bench.yaml", []byte(`
name: churn-bench
kind: port-exhaustion
target: {builtin: sink}
load: {workers: 64}
socket: {linger: 0}
stop: {duration: 2s, max_ops: 10000000}
failure: {classes: []}
`))
	if err != nil {
		b.Fatal(err)
	}
	var rate float64
	for b.Loop() {
		sum, err := workers.Run(context.Background(), sc, Options{Kinds: kinds.Table, Targets: targets.Table})
		if err != nil {
			b.Fatal(err)
		}
		rate = float64(sum.Ops.OK) / sum.ElapsedSec
	}
	b.ReportMetric(rate, "conns/s")
	b.ReportMetric(ref, "ref_conns/s")
	b.ReportMetric(rate/ref, "ratio")
}
