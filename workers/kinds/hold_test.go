//go:build linux

package kinds_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/workers"
)

// TestHoldBuiltin: every wanted connection is opened, spread over the
// peers, held to the end on both sides, and nothing is left open.
func TestHoldBuiltin(t *testing.T) {
	testkit.NeedLoopback8(t)
	sc := testkit.Parse(t, `
name: hold-test
kind: hold
hold: {connections: 300, peers: 3}
load: {workers: 16}
stop: {duration: 600ms}
`)
	r := testrun.Run(t, context.Background(), sc, workers.Options{})
	s := r.Sum
	h := s.Hold
	if h == nil {
		t.Fatal("no hold section")
	}
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"ops.issued", s.Ops.Issued, 300},
		{"ops.ok", s.Ops.OK, 300},
		{"ops.failed", s.Ops.Failed, 0},
		{"hold.wanted", h.Wanted, 300},
		{"hold.opened", h.Opened, 300},
		{"hold.held_at_end", h.HeldAtEnd, 300},
		{"hold.peak_held", h.PeakHeld, 300},
		{"hold.closed_by_server", h.ClosedByServer, 0},
		{"target.accepted", s.Target.Accepted, 300},
		{"peak_open", uint64(s.PeakOpen), 300},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if got, want := h.LastPeer[:len("127.0.0.3")], "127.0.0.3"; got != want {
		t.Errorf("last peer %s, want %s…", h.LastPeer, want)
	}
	if h.AllOpenSec <= 0 {
		t.Errorf("all_open_sec = %v, want > 0", h.AllOpenSec)
	}
	if s.Target.Active != 0 {
		t.Errorf("target.active after the run = %d, want 0", s.Target.Active)
	}
}

// TestHoldCountsServerEnds: connections the server closes (FIN) or
// resets (RST) while they are held are counted as such.
func TestHoldCountsServerEnds(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprintf("reset=%v", reset), func(t *testing.T) {
			// Each connection is closed (FIN), or reset, right away.
			addr := testkit.Serve(t, func(_ int, c *net.TCPConn) {
				if reset {
					_ = c.SetLinger(0)
				}
			})
			sc := testkit.Parse(t, fmt.Sprintf(`
name: hold-ends
kind: hold
target: {address: %q}
hold: {connections: 40}
load: {workers: 4}
stop: {duration: 800ms}
`, addr))
			s := testrun.Run(t, context.Background(), sc, workers.Options{}).Sum
			h := s.Hold
			// An RST that comes before the loop saw the connect complete
			// fails the connect itself (SO_ERROR ECONNRESET), as it would
			// with Go's dialer: count those with the resets.
			gotEOF, gotRST := h.ClosedByServer, h.ResetByServer+s.Ops.Failed
			wantEOF, wantRST := uint64(40), uint64(0)
			if reset {
				wantEOF, wantRST = 0, 40
			}
			if gotEOF != wantEOF || gotRST != wantRST || h.HeldAtEnd != 0 {
				t.Errorf("closed_by_server %d, reset_by_server %d, held_at_end %d; want %d, %d, 0", gotEOF, gotRST, h.HeldAtEnd, wantEOF, wantRST)
			}
		})
	}
}
