package sweep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/scenarios"
)

// column returns the median of column path at every point of a sweep.
func column(t *testing.T, sum *schema.SweepSummary, path string) []float64 {
	t.Helper()
	var out []float64
	for _, p := range sum.Points {
		var got *schema.Stat
		for _, c := range p.Columns {
			if c.Path == path {
				got = c.Stat
			}
		}
		if got == nil {
			t.Fatalf("point %d (%v) has no value of column %s: %+v", p.Index, p.Values, path, p.Columns)
		}
		out = append(out, got.Median)
	}
	return out
}

// TestShippedTrendSweeps runs the shipped sweeps whose point is a trend in
// a column, each point in a fresh cell, and checks the trend: the half-open
// accept backlog (completed connects rise with somaxconn and the pending
// plateau falls), SO_SNDBUF and tcp_wmem for the dead-peer push (bytes
// held per socket and in all rise with the buffer).
func TestShippedTrendSweeps(t *testing.T) {
	needCells(t)
	tests := []struct {
		file string
		// rising and falling columns: non-decreasing (non-increasing) from
		// point to point, and the last strictly above (below) the first.
		rising, falling []string
		// exact, when set, are a column's expected medians.
		exact     map[string][]float64
		wantClass string
		// floor is how many leading points share the kernel's floor for
		// the axis and so differ only by noise: they must each stay below
		// every later point, but not rise among themselves.
		floor int
	}{
		// somaxconn 1, 4, 12: the accept queue holds somaxconn+1; the other
		// of the 16 workers' connects stay pending (14, 11, 3 — not checked
		// exactly: a sample that lands as the first ETIMEDOUTs come, at
		// ~3.06 s, sees a few fewer), and the first of them ends with
		// ETIMEDOUT after one SYN retry (~3 s).
		{"half-open-backlog.sweep.yaml", []string{"half_open.completed"}, []string{"half_open.pending_plateau.mean"},
			map[string][]float64{"half_open.completed": {2, 5, 13}}, "etimedout", 0},
		// SO_SNDBUF 2048…262144 then the default: 2048 and 8192 both end at
		// the kernel's floor, so the rise is non-strict.
		// (socket.effective_sndbuf of the default is the initial 69120 the
		// kernel autotunes from, so it is tabulated, not checked.)
		// Checked: what a socket holds at its fullest, and the peak of the
		// total. Not the mean of the total over the run, which depends on
		// how soon the sockets filled on a busy machine (1624405 after
		// 2234592 was seen once under load); it is tabulated only.
		// SO_SNDBUF 2048 and 8192 both sit at the kernel's floor (effective
		// 4608 and 16384 hold about the same: 47784, once 34752 for 8192).
		{"constrained-sockets.sweep.yaml", []string{"dead_peer.top.0.queued", "dead_peer.peak_queued_total"}, nil, nil, "deadline", 2},
		{"tcp-wmem.sweep.yaml", []string{"dead_peer.top.0.queued", "dead_peer.peak_queued_total"}, nil, nil, "deadline", 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sum, _, err := Start(context.Background(), "../scenarios.d/sweeps/"+tt.file, t.TempDir(), time.Now(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := cellsLeft(t); len(got) != 0 {
				t.Errorf("namespaces left after the sweep: %v", got)
			}
			for _, p := range sum.Points {
				if p.Runs != sum.Repetitions || p.Failures != p.Runs || p.Class != tt.wantClass {
					t.Errorf("point %d (%v): %d runs, %d failed with %q; want %d runs, each failing with %s", p.Index, p.Values, p.Runs, p.Failures, p.Class, sum.Repetitions, tt.wantClass)
				}
			}
			check := func(path string, up bool) {
				xs := column(t, sum, path)
				for i := 1; i < len(xs); i++ {
					prev := xs[i-1]
					if i == tt.floor { // the first point above the floor: above all of it
						prev = slices.Max(xs[:i])
						if !up {
							prev = slices.Min(xs[:i])
						}
					} else if i < tt.floor {
						continue
					}
					if (up && xs[i] < prev) || (!up && xs[i] > prev) {
						t.Errorf("%s per point = %v: want it %s with the axis", path, xs, map[bool]string{true: "rising", false: "falling"}[up])
						return
					}
				}
				if first, last := xs[0], xs[len(xs)-1]; (up && last <= first) || (!up && last >= first) {
					t.Errorf("%s per point = %v: last %v not %s first %v", path, xs, last, map[bool]string{true: "above", false: "below"}[up], first)
				}
			}
			for _, c := range tt.rising {
				check(c, true)
			}
			for _, c := range tt.falling {
				check(c, false)
			}
			for path, want := range tt.exact {
				got := column(t, sum, path)
				if len(got) != len(want) {
					t.Errorf("%s = %v, want %v", path, got, want)
					continue
				}
				// The accept queue holds somaxconn + 1, but the client counts a
				// connect done at the SYN-ACK: when two SYNs race a queue that is
				// not yet full, both are answered and the server drops the
				// second's ACK. Under load one such race was seen ([3 5 13]);
				// so at most one more, never fewer.
				for i := range got {
					if got[i] < want[i] || got[i] > want[i]+1 {
						t.Errorf("%s = %v, want %v (at most one more per point)", path, got, want)
						break
					}
				}
			}
		})
	}
}

// TestLoadCheckColumns: columns are checked against the run summary's
// fields, each bad one reported at its position in the sweep file.
func TestLoadCheckColumns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.sweep.yaml")
	src := "name: c\nscenario: {name: b, kind: half-open}\naxes:\n  - path: socket.sndbuf\n    values: [2048]\ncolumns:\n  - half_open.completed\n  - half_open.complted\n  - status\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(file)
	var ps scenarios.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load = %v, want Problems", err)
	}
	want := []string{
		file + `:8:5: columns[1] "half_open.complted": summary.json has no field "complted" at half_open (there: started, completed, pending_peak, pending_plateau, held_peak, starts_per_sec, outcomes, accept_queue, accept_backlog)`,
		file + `:9:5: columns[2] "status": status is not a number`,
	}
	if got := ps.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestUDPPushTBFSweep runs the shipped UDP-through-tbf sweep: with
// IP_RECVERR every point fails with ENOBUFS (send, 105), without it none
// does; the sink receives what the rate lets through, about 4 times as
// much at 4mbit as at 1mbit, with or without the option.
func TestUDPPushTBFSweep(t *testing.T) {
	needCells(t)
	sum, _, err := Start(context.Background(), "../scenarios.d/sweeps/udp-push-tbf.sweep.yaml", t.TempDir(), time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cellsLeft(t); len(got) != 0 {
		t.Errorf("namespaces left after the sweep: %v", got)
	}
	if got, want := len(sum.Points), 4; got != want {
		t.Fatalf("points = %d, want %d", got, want)
	}
	enobufs := column(t, sum, "udp_push.enobufs")
	received := column(t, sum, "target.datagrams")
	for i, p := range sum.Points {
		recverr := p.Values[0] == "true"
		if recverr {
			if p.Failures != 1 || p.Class != "enobufs" || p.Phase != "send" || p.Code != 105 || p.TTF == nil || enobufs[i] == 0 {
				t.Errorf("point %d (%v): %d failed with %s %s %d, %v ENOBUFS; want enobufs send 105 with a ttf", i, p.Values, p.Failures, p.Class, p.Phase, p.Code, enobufs[i])
			}
		} else if p.Failures != 0 || enobufs[i] != 0 {
			t.Errorf("point %d (%v): %d failed, %v ENOBUFS; want none without IP_RECVERR", i, p.Values, p.Failures, enobufs[i])
		}
	}
	// Points: (true, 1mbit), (true, 4mbit), (false, 1mbit), (false, 4mbit).
	for _, pair := range [][2]int{{0, 1}, {2, 3}} {
		slow, fast := received[pair[0]], received[pair[1]]
		// 4×, less what a loaded machine cannot send: at least twice.
		if fast < 2*slow || slow == 0 {
			t.Errorf("received at 1mbit %v, at 4mbit %v: want about 4 times as much at 4mbit", slow, fast)
		}
	}
}
