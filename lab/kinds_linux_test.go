package lab

import (
	"context"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"

	"github.com/nobufs/nobufs/workers"
)

// TestKindsInCell runs every kind but port-exhaustion (TestRunPortRangeInCell)
// in a cell for about a second: the target is the cell's, the sockets the
// kind creates are the cell's (the dead-peer diagnostics see them by their
// cell addresses), and the kind's results are what it shows on loopback.
func TestKindsInCell(t *testing.T) {
	needCells(t)
	tests := []struct {
		name, src string
		check     func(t *testing.T, s *schema.Summary)
	}{
		{"churn", `name: churn-cell
kind: churn
target: {builtin: churn-peer}
load: {model: open, rate: 50, workers: 50}
churn: {peers: 1, lifetime: exponential(200ms), gap: exponential(50ms)}
stop: {duration: 1s}
failure: {classes: [econnrefused, econnreset, etimedout, deadline, eof]}
cell: {}
`, func(t *testing.T, s *schema.Summary) {
			if s.Churn == nil || s.Churn.Connects < 10 || s.Ops.Failed != 0 {
				t.Errorf("churn %+v, ops %+v: want >= 10 connects and no failure", s.Churn, s.Ops)
			}
			if s.Churn != nil && !strings.HasPrefix(s.Churn.FirstPeer, "10.9.") {
				t.Errorf("churn peer %s, want the cell's target address", s.Churn.FirstPeer)
			}
		}},
		// backlog 1: two handshakes complete into the accept queue, the
		// other two connects stay pending until their timeout.
		{"half-open", `name: half-open-cell
kind: half-open
target: {builtin: never-accept, listen: 127.42.0.1:0}
load: {workers: 4}
socket: {connect_timeout: 500ms}
half_open: {backlog: 1, max_pending: 4, hold: 10s}
stop: {duration: 1200ms, on_failure: false}
failure: {classes: [deadline, etimedout]}
cell:
  target:
    sysctls:
      # With cookies a SYN past the full queue can still be answered, and
      # the client counts a handshake the server then drops.
      net.ipv4.tcp_syncookies: 0
`, func(t *testing.T, s *schema.Summary) {
			h := s.HalfOpen
			if h == nil {
				t.Fatal("no half_open section")
			}
			// The server's accept queue holds backlog+1 = 2, exactly. The
			// client counts a connect done at the SYN-ACK, and SYNs that
			// race a queue not yet full are all answered (the server then
			// drops the extra ACKs): so 2 to 4 completed, and with at least
			// 2 held, 1 or 2 of the 4 workers pending at the peak.
			if h.AcceptQueue == nil || *h.AcceptQueue != 2 {
				t.Errorf("accept queue %v, want 2 (backlog 1 + 1)", h.AcceptQueue)
			}
			if c, p := h.Completed, h.PendingPeak; c < 2 || c > 4 || p < 1 || p > 2 {
				t.Errorf("completed %d, pending peak %d: want 2–4 completed and 1–2 pending", c, p)
			}
			if f := s.TimeToFailure; f == nil || f.Class != errclass.ClassDeadline {
				t.Errorf("time to failure %+v, want deadline (the pending connects' timeout)", f)
			}
		}},
		// The per-socket diagnostics goroutine reads the cell's sockets.
		{"dead-peer", `name: dead-peer-cell
kind: dead-peer
target: {builtin: non-reader}
load: {workers: 2}
socket: {io_timeout: 200ms}
dead_peer: {chunk: 16384, read_bytes: 0}
stop: {duration: 1s, on_failure: false}
failure: {classes: [deadline]}
cell: {}
`, func(t *testing.T, s *schema.Summary) {
			d := s.DeadPeer
			if d == nil || !d.Diagnostics || len(d.Top) != 2 {
				t.Fatalf("dead_peer %+v: want diagnostics of 2 sockets", d)
			}
			for _, so := range d.Top {
				if !strings.HasPrefix(so.Local, "10.9.") || so.Queued <= 0 {
					t.Errorf("socket %s -> %s queued %d: want a cell address and bytes queued", so.Local, so.Remote, so.Queued)
				}
			}
		}},
		{"udp-push", `name: udp-push-cell
kind: udp-push
target: {builtin: udp-sink}
load: {model: open, rate: 500, workers: 2}
udp_push: {size: 1000, recverr: true}
stop: {duration: 1s}
failure: {classes: [enobufs]}
cell: {}
`, func(t *testing.T, s *schema.Summary) {
			u := s.UDPPush
			if u == nil || u.Sent < 100 || u.ENOBUFS != 0 {
				t.Fatalf("udp_push %+v: want >= 100 datagrams sent, no ENOBUFS (no shaping)", u)
			}
			if got, want := s.Target.Datagrams, u.Sent; got != want {
				t.Errorf("the cell's sink received %d datagrams, want the %d sent", got, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := Run(context.Background(), parse(t, tt.src), workers.Options{Kinds: kinds.Table, Targets: targets.Table})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Cell == nil || !strings.HasPrefix(sum.Target.Address, "10.9.") {
				t.Errorf("target %q, cell %+v: want the run inside a cell", sum.Target.Address, sum.Cell)
			}
			tt.check(t, sum)
			if sum.Cell != nil {
				if got := netnsWithPrefix(t, sum.Cell.Name+"-"); len(got) != 0 {
					t.Errorf("after Run, namespaces %v remain", got)
				}
			}
		})
	}
}
