package report

import (
	"strings"
	"testing"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/scenarios"
)

// TestTextDeadPeerAndUDP checks the lines Text adds for the dead-peer and
// udp-push kinds.
func TestTextDeadPeerAndUDP(t *testing.T) {
	dp := scenarios.Default(scenarios.KindDeadPeer)
	up := scenarios.Default(scenarios.KindUDPPush)
	tests := []struct {
		name string
		sum  *schema.Summary
		want []string
	}{
		// The sockets holding the most, with their TCP_INFO, and the reaper.
		{"dead-peer", &schema.Summary{Scenario: &dp, Socket: schema.SocketReport{EffectiveSndBuf: 16384, EffectiveRcvBuf: 16384},
			Sections: schema.Sections{DeadPeer: &schema.DeadPeerReport{Diagnostics: true, Connections: 8, BlockedWrites: 72, PeakQueuedTotal: 434176,
				PeakQueuedAtSec: 1, MeanQueuedTotal: 400000, Measurements: 7,
				Top:    []schema.SocketStat{{Local: "127.0.0.1:5000", Remote: "127.0.0.1:6000", Queued: 54272, NotSent: 54272, State: "established", End: "open"}},
				Reaper: &schema.ReaperReport{MaxQueued: 8388608, Reaped: 3, FreedBytes: 12000000}}}},
			[]string{
				"dead peer        8 connections, 72 blocked writes; SO_SNDBUF 16384, SO_RCVBUF 16384 (effective)",
				"queued           peak 434176 bytes in all send queues at 1s, mean 400000 over 7 measurements",
				"top sockets      127.0.0.1:5000 -> 127.0.0.1:6000: queued 54272, unacked 0, notsent 54272, snd_wnd 0, established (open)",
				"reaper           bound 8388608 bytes: 3 sockets reaped, 12000000 bytes freed",
			}},
		// Without per-socket diagnostics the queue lines say so.
		{"dead-peer-no-diag", &schema.Summary{Scenario: &dp, Sections: schema.Sections{DeadPeer: &schema.DeadPeerReport{Connections: 2}}},
			[]string{"queued           per-socket send queues are not readable on this OS"}},
		// Datagrams sent, ENOBUFS, IP_RECVERR and what the sink received.
		{"udp-push", &schema.Summary{Scenario: &up, Target: schema.TargetInfo{Datagrams: 90},
			Sections: schema.Sections{UDPPush: &schema.UDPReport{Size: 1000, RecvErr: true, Sent: 100, ENOBUFS: 3}}},
			[]string{"datagrams        100 sent of 1000 bytes, 3 ENOBUFS, IP_RECVERR on; the sink received 90"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Text(&b, tt.sum); err != nil {
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
