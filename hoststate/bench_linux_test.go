package hoststate

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchSockets is the number of loopback connections held open during the
// benchmarks (two sockets each), capped by the descriptor limit.
const benchSockets = 5000

// benchConns is benchSockets, or fewer if the descriptor limit is lower.
func benchConns(b *testing.B) int {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		b.Fatal(err)
	}
	n := min(uint64(benchSockets), (r.Cur-200)/2)
	if n < benchSockets {
		b.Logf("RLIMIT_NOFILE %d: %d connections instead of %d", r.Cur, n, benchSockets)
	}
	return int(n)
}

// refReadFile is the reference: one os.ReadFile of /proc/self/stat.
func refReadFile(b *testing.B) time.Duration {
	const n = 2000
	t0 := time.Now()
	for range n {
		if _, err := os.ReadFile("/proc/self/stat"); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0) / n
}

// BenchmarkSample measures one full sample (TCP states by sock_diag,
// sockstat, counters, qdiscs, fds) with 10,000 loopback sockets open, and
// reports it as a multiple of one os.ReadFile of /proc/self/stat
// ("x-readfile"). The sub-benchmarks split out the two ways of counting
// TCP states.
func BenchmarkSample(b *testing.B) {
	n := benchConns(b)
	openConns(b, n)
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if st := s.Sample(); st.TCP.Established < 2*n {
		b.Fatalf("established = %d, want >= %d", st.TCP.Established, 2*n)
	}
	bench := func(name string, fn func()) {
		b.Run(name, func(b *testing.B) {
			ref := refReadFile(b)
			b.ResetTimer()
			t0 := time.Now()
			for b.Loop() {
				fn()
			}
			per := time.Since(t0) / time.Duration(b.N)
			b.ReportMetric(float64(per)/float64(ref), "x-readfile")
		})
	}
	bench("full", func() { s.Sample() })
	bench("tcp-sock_diag", func() {
		var st TCPStates
		if err := countTCPBoth(s.diag, &st); err != nil {
			b.Fatal(err)
		}
	})
	bench("tcp-sock_diag-per-family", func() {
		var st TCPStates
		if err := countTCP(s.diag, &st); err != nil {
			b.Fatal(err)
		}
	})
	bench("tcp-procfs", func() {
		var st TCPStates
		if err := countTCPProc(netDir, &st); err != nil {
			b.Fatal(err)
		}
	})
	bench("readfile-proc-self-stat", func() {
		if _, err := os.ReadFile("/proc/self/stat"); err != nil {
			b.Fatal(err)
		}
	})
}
