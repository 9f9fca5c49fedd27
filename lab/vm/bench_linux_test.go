package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmarks measure what docs/vm-notes.md reports (run them with
// -benchtime 3x for three boots per case):
//
//	go test -run '^$' -bench 'Boot|Connects|Teardown' -benchtime 3x ./lab/vm/
//
// NOBUFS_VM_BENCH_SIZES lists the memory sizes of BenchmarkBoot in MiB
// (default 128,256,384,512,1024); NOBUFS_VM_KERNEL boots another vmlinuz
// than the cached one.

func benchSizes(b *testing.B) []int {
	s := os.Getenv("NOBUFS_VM_BENCH_SIZES")
	if s == "" {
		s = "128,256,384,512,1024"
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("NOBUFS_VM_BENCH_SIZES: %q is not a size in MiB", f)
		}
		out = append(out, n)
	}
	return out
}

func benchKernel(c *Config) {
	if k := os.Getenv("NOBUFS_VM_KERNEL"); k != "" {
		c.Kernel = k
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkBoot boots the basic test guest at each size: the median boot
// time (qemu start → facts record) and the guest's facts.
func BenchmarkBoot(b *testing.B) {
	for _, mem := range benchSizes(b) {
		b.Run(fmt.Sprintf("m=%dM", mem), func(b *testing.B) {
			benchBoot(b, mem, benchKernel)
		})
	}
}

// BenchmarkBootMachine compares machine options at 128M.
func BenchmarkBootMachine(b *testing.B) {
	variants := []struct {
		name    string
		machine string
		acpi    bool
		verbose bool
	}{
		{"q35-acpi=off", "q35", false, false},
		{"q35-acpi", "q35", true, false},
		{"pc-acpi=off", "pc", false, false},
		{"pc-acpi", "pc", true, false},
		{"q35-acpi=off-verbose", "q35", false, true},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			benchBoot(b, 128, func(c *Config) {
				benchKernel(c)
				c.Machine, c.ACPI, c.Verbose = v.machine, v.acpi, v.verbose
			})
		})
	}
}

func benchBoot(b *testing.B, mem int, tweak func(*Config)) {
	var boots, totals, teardowns []time.Duration
	var facts *Facts
	for i := 0; i < b.N; i++ {
		res, _, err := boot(b, context.Background(), "basic", mem, tweak)
		if res.Facts == nil {
			b.Skipf("-m %dM: no facts record (error %v, failures %+v, exit %+v)", mem, err, res.Failures, res.Exit)
		}
		if err != nil || res.Done == nil {
			b.Fatalf("-m %dM: %v, done %+v", mem, err, res.Done)
		}
		boots = append(boots, res.BootTime)
		totals = append(totals, res.Total)
		teardowns = append(teardowns, res.TeardownTime)
		facts = res.Facts
	}
	b.ReportMetric(median(boots).Seconds(), "boot-s")
	b.ReportMetric(median(totals).Seconds(), "total-s")
	b.ReportMetric(float64(median(teardowns).Microseconds())/1000, "exit-ms")
	b.Logf("-m %dM: boot %v (median of %v) | MemTotal %d kB | tcp_mem %v | tcp_rmem max %d | tcp_wmem max %d | tcp_max_orphans %d | guest uptime at facts %.2fs | %s",
		mem, median(boots), boots, facts.MemTotalKB, facts.TCPMem, facts.TCPRmem[2], facts.TCPWmem[2], facts.TCPMaxOrphans, facts.UptimeSeconds, facts.Release)
}

// BenchmarkConnects runs a loopback connect+close loop inside a 128M TCG
// guest for 5 s and reports the rate.
func BenchmarkConnects(b *testing.B) {
	var rates []float64
	for i := 0; i < b.N; i++ {
		res, recs, err := boot(b, context.Background(), "connects", 128, func(c *Config) {
			benchKernel(c)
			c.Append = append(c.Append, "NBTEST_SECS=5")
		})
		if err != nil {
			b.Fatal(err)
		}
		var got struct {
			Connects  int     `json:"connects"`
			Seconds   float64 `json:"seconds"`
			PerSecond float64 `json:"per_second"`
			Error     string  `json:"error"`
		}
		for _, r := range recs {
			if r.Type == "connects" {
				json.Unmarshal(r.Payload, &got)
			}
		}
		if got.Connects == 0 || got.Error != "" {
			b.Fatalf("connects record %+v (done %+v)", got, res.Done)
		}
		rates = append(rates, got.PerSecond)
		b.Logf("%d connects in %.2fs: %.0f/s", got.Connects, got.Seconds, got.PerSecond)
	}
	sort.Float64s(rates)
	b.ReportMetric(rates[len(rates)/2], "connects/s")
}

// BenchmarkTeardown measures how long qemu takes to end after SIGTERM
// (context cancelled while the guest runs).
func BenchmarkTeardown(b *testing.B) {
	var tds []time.Duration
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		res, _, err := boot(b, ctx, "idle", 128, func(c *Config) {
			benchKernel(c)
			c.Append = append(c.Append, "NBTEST_TICK=200ms")
			next := c.OnRecord
			c.OnRecord = func(r Record) {
				next(r)
				if r.Type == TypeLine {
					cancel()
				}
			}
		})
		cancel()
		if res.Exit.Reason != ReasonCanceled {
			b.Fatalf("exit %+v, err %v", res.Exit, err)
		}
		if res.Exit.Forced {
			b.Logf("SIGTERM was not enough: SIGKILL sent")
		}
		tds = append(tds, res.TeardownTime)
	}
	b.ReportMetric(float64(median(tds).Microseconds())/1000, "sigterm-exit-ms")
	b.Logf("SIGTERM → exit: %v", tds)
}
