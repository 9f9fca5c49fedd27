package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/record"
)

func needCells(t *testing.T) {
	t.Helper()
	if err := lab.Check(); err != nil {
		t.Skipf("lab cells unavailable here: %v", err)
	}
}

// TestUDPPushTBF runs the shipped udp-push-tbf.yaml — UDP through a tbf
// qdisc in a cell (LAB.md §4) — and its control without IP_RECVERR. With
// IP_RECVERR, sendto fails with ENOBUFS (class enobufs, phase send, code
// 105) within the first datagrams; without it no send fails, and the drops
// show only in the cell's counters: the tbf qdisc's drops and
// Udp.SndbufErrors in the timeline's host field.
func TestUDPPushTBF(t *testing.T) {
	needCells(t)
	shipped, err := os.ReadFile("../../scenarios.d/udp-push-tbf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	control := strings.NewReplacer("recverr: true", "recverr: false", "failure: required", "failure: forbidden", "  max_ttf: 1s\n", "").Replace(string(shipped))
	if control == string(shipped) || strings.Contains(control, "max_ttf") {
		t.Fatal("control: the shipped file's recverr/expect lines changed; update this test")
	}
	tests := []struct {
		name, src string
		recverr   bool
	}{
		{"recverr", string(shipped), true},
		{"control", control, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "udp-push-tbf.yaml")
			if err := os.WriteFile(file, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			code, stdout, stderr := runCLI(t, "run", "--quiet", "--host-state=true", "--out", out, file)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
			}
			runs, _ := filepath.Glob(filepath.Join(out, "udp-push-tbf", "*"))
			if len(runs) != 1 {
				t.Fatalf("run directories %v, want one", runs)
			}
			s, err := record.ReadSummary(runs[0])
			if err != nil {
				t.Fatal(err)
			}
			if s.UDPPush == nil || s.UDPPush.Sent == 0 {
				t.Fatalf("udp_push %+v: want datagrams sent", s.UDPPush)
			}
			f := s.TimeToFailure
			if tt.recverr {
				if f == nil {
					t.Fatalf("no time to failure; errors %+v", s.Errors)
				}
				if got, want := [3]any{f.Class, f.Phase, f.Code}, [3]any{errclass.ClassENOBUFS, errclass.PhaseSend, 105}; got != want {
					t.Errorf("failure (class, phase, code) = %v, want %v", got, want)
				}
				// The tbf passes the first datagram (burst 1600); the queue
				// holds one more; after that sends fail.
				if f.OKBefore < 1 || f.OKBefore > 10 {
					t.Errorf("datagrams sent before ENOBUFS = %d, want a few (LAB.md: from the 2nd)", f.OKBefore)
				}
				if s.UDPPush.ENOBUFS < s.UDPPush.Sent {
					t.Errorf("ENOBUFS %d, sent %d: want most sends refused (2000/s offered, ~125/s pass)", s.UDPPush.ENOBUFS, s.UDPPush.Sent)
				}
				return
			}
			if f != nil || len(s.Errors) != 0 || s.UDPPush.ENOBUFS != 0 {
				t.Fatalf("control: failure %+v, errors %+v: want no errno without IP_RECVERR", f, s.Errors)
			}
			if got := s.Target.Datagrams; got >= s.UDPPush.Sent {
				t.Errorf("control: sink received %d of %d sent: want drops", got, s.UDPPush.Sent)
			}
			// The counters show the drops: the tbf qdisc's drop total, and
			// the per-sample increases of Udp.SndbufErrors.
			hosts := readTimelineHosts(t, runs[0])
			if len(hosts) == 0 {
				t.Fatal("control: no sample has a host field")
			}
			var tbfDrops, sndbufErrors uint64
			for _, h := range hosts {
				for _, q := range h.Qdiscs {
					if q.Kind == "tbf" {
						tbfDrops = max(tbfDrops, q.DropsTotal)
					}
				}
				sndbufErrors += h.Counters["Udp.SndbufErrors"]
			}
			if tbfDrops == 0 {
				t.Errorf("control: tbf drops in the cell = 0; qdiscs %+v", hosts[len(hosts)-1].Qdiscs)
			}
			if sndbufErrors == 0 {
				t.Errorf("control: Udp.SndbufErrors in the cell = 0; counters %v", hosts[len(hosts)-1].Counters)
			}
		})
	}
}

// readTimelineHosts returns the host field of every sample of the run in dir.
func readTimelineHosts(t *testing.T, dir string) []hoststate.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "timeline.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var out []hoststate.State
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var s struct {
			Type string           `json:"type"`
			Host *hoststate.State `json:"host"`
		}
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatalf("timeline line %q: %v", line, err)
		}
		if s.Type == "sample" && s.Host != nil {
			out = append(out, *s.Host)
		}
	}
	return out
}
