package report

import (
	"strings"
	"testing"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// TestTextKinds checks the lines each kind adds to the text summary.
func TestTextKinds(t *testing.T) {
	q, b := 2, 1
	orphanAt := 49.41509
	tests := []struct {
		name string
		sum  schema.Summary
		want []string
	}{
		{
			name: "churn",
			sum: schema.Summary{Sections: schema.Sections{Churn: &schema.ChurnReport{Peers: 32, FirstPeer: "127.42.0.1:9", LastPeer: "127.42.0.32:9",
				Connects: 573, ClosedFIN: 466, ClosedRST: 107, Bursts: 1965, ConnectsPerSec: 95.4, MeanLifetimeSec: 0.97784,
				SteadyOpen: &schema.GaugeStats{Samples: 3, Mean: 92, Min: 85, Max: 105}}}, BytesOut: 10, BytesIn: 20},
			want: []string{
				"churn            573 connects (95.4/s) to 32 peers 127.42.0.1:9-127.42.0.32:9; closed 466 by FIN, 107 by RST; 1965 bursts; mean lifetime 977.84ms",
				"steady open      mean 92.0, min 85, max 105 (3 samples, second half of the run)",
				"bytes            out 10, in 20",
			},
		},
		{
			name: "half-open",
			sum: schema.Summary{Sections: schema.Sections{HalfOpen: &schema.HalfOpenReport{Started: 42, StartsPerSec: 10.5, Completed: 2, PendingPeak: 10, HeldPeak: 2,
				PendingPlateau: &schema.GaugeStats{Samples: 3, Mean: 10, Min: 10, Max: 10},
				Outcomes: []schema.ClassTiming{{Class: errclass.ClassDeadline, Count: 30, MinSec: 1.0002, MeanSec: 1.0007, MaxSec: 1.0012},
					{Class: "completed", Count: 2, MinSec: 0.00017, MeanSec: 0.00025, MaxSec: 0.00033}},
				AcceptQueue: &q, AcceptBacklog: &b}}},
			want: []string{
				"half-open         42 connects started (10.5/s), 2 completed; pending peak 10, held peak 2; target accept queue 2 (backlog 1)",
				"pending plateau   mean 10.0, min 10, max 10 (3 samples, second half of the run)",
				"connect outcomes  deadline: 30, after 1.0007s (min 1.0002s, max 1.0012s)",
				"                  completed: 2, after 250µs (min 170µs, max 330µs)",
			},
		},
		{
			name: "orphan-churn",
			sum: schema.Summary{Sections: schema.Sections{OrphanChurn: &schema.OrphanChurnReport{Peers: 16, FirstPeer: "127.0.0.1:9", LastPeer: "127.0.0.16:9",
				Connects: 1162, Completed: 554, OrphanResets: 3, BytesAsked: 76152832, BytesRead: 50462720, MeanReadSec: 17.02745, FirstResetAtSec: &orphanAt, PeakReading: 608}}},
			want: []string{
				"orphan churn     1162 connects to 16 peers (127.0.0.1:9–127.0.0.16:9), 554 bursts read to the end (mean 17.02745s), at most 608 read at once",
				"orphans killed   3 reset before the burst's end, first at 49.41509s",
				"bytes            76152832 asked, 50462720 read",
			},
		},
		{
			name: "vm",
			sum: schema.Summary{VM: &schema.VMReport{MemoryMiB: 128, Accel: "tcg", Machine: "q35",
				Kernel: schema.VMKernel{Package: "linux-image-6.1.0-48-cloud-amd64", Version: "6.1.172-1", Release: "6.1.0-48-cloud-amd64"},
				Guest: schema.VMGuest{Release: "6.1.0-48-cloud-amd64", Clocksource: "tsc", MemTotalKB: 94804, TCPMem: [3]int64{975, 1301, 1950}, TCPMemMaxBytes: 1950 * 4096,
					TCPRmem: [3]int64{4096, 131072, 666112}, TCPWmem: [3]int64{4096, 16384, 666112}, TCPMaxOrphans: 512},
				Sysctls: map[string]string{"net.ipv4.tcp_mem": "300 400 500"}, BootSec: 4.9, RunSec: 16.8, TeardownSec: 0.015, Exit: "guest",
				Died:     &schema.VMDeath{Class: "guest-oom", AtSec: 9.2015, Line: "Kernel panic - not syncing: System is deadlocked on memory"},
				Events:   []schema.VMEventCount{{Kind: "tcp-oom", Count: 2, FirstAtSec: 15.55621, First: "TCP: out of memory -- consider tuning tcp_mem"}},
				Counters: map[string]uint64{"TcpExt.TCPAbortOnMemory": 2, "TcpExt.TCPMemoryPressures": 1}, PeakTCPMemPages: 2324, PeakOrphans: 1,
				Records: 30, Missing: 2}},
			want: []string{
				"vm               128 MiB (tcg, q35, clock tsc), kernel 6.1.0-48-cloud-amd64 (linux-image-6.1.0-48-cloud-amd64 6.1.172-1)",
				"                 MemTotal 94804 kB; tcp_mem 975 1301 1950 pages (max 7.6 MiB); tcp_rmem max 666112, tcp_wmem max 666112; tcp_max_orphans 512",
				"                 net.ipv4.tcp_mem = 300 400 500",
				"                 boot 4.9s, run 16.8s, teardown 15ms; qemu ended: guest",
				"guest died       guest-oom at 9.2015s: Kernel panic - not syncing: System is deadlocked on memory",
				"guest kernel     tcp-oom: 2, first at 15.55621s: TCP: out of memory -- consider tuning tcp_mem",
				"guest counters   peak TCP memory 2324 pages, 1 orphans; TCPAbortOnMemory 2, TCPMemoryPressures 1",
				"guest records    30 received, 2 missing, 0 corrupt",
			},
		},
		{
			// A summary.json read back with accept_queue but no accept_backlog
			// (hand-edited, or cut): no accept-queue clause, and no panic.
			name: "half-open",
			sum:  schema.Summary{Sections: schema.Sections{HalfOpen: &schema.HalfOpenReport{Started: 3, Completed: 2, AcceptQueue: &q}}},
			want: []string{"half-open        3 connects started (0.0/s), 2 completed; pending peak 0, held peak 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sum.Scenario = &scenarios.Scenario{Name: "x", Kind: tt.name}
			var b strings.Builder
			if err := Text(&b, &tt.sum); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w+"\n") {
					t.Errorf("got:\n%s\nwant a line:\n%s", b.String(), w)
				}
			}
		})
	}
}

// TestTextChurnOnePeer: one peer is written as one, not "1 peers a-a".
func TestTextChurnOnePeer(t *testing.T) {
	var b strings.Builder
	s := &schema.Summary{Sections: schema.Sections{Churn: &schema.ChurnReport{Peers: 1, FirstPeer: "127.0.0.1:6379", LastPeer: "127.0.0.1:6379", Connects: 3}}}
	if err := Text(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "3 connects (0.0/s) to 1 peer 127.0.0.1:6379;") {
		t.Errorf("text:\n%s", b.String())
	}
}

// TestTextUnknownOp: a first occurrence or failure without its operation
// index (rebuilt from a schema 1 timeline) is not printed as op #0.
func TestTextUnknownOp(t *testing.T) {
	var b strings.Builder
	s := &schema.Summary{
		TimeToFailure: &schema.Failure{Class: "eaddrnotavail", Phase: "connect", Code: 99, AtSec: 2, OKBefore: 150},
		Errors:        []schema.ErrorCount{{Phase: "connect", Class: "eaddrnotavail", Code: 99, Count: 7, FirstAt: 2}},
	}
	if err := Text(&b, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "op #0") {
		t.Errorf("text says op #0:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "2s: eaddrnotavail, after 150 ok (connect, code 99)") {
		t.Errorf("text:\n%s", b.String())
	}
}
