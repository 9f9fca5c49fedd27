package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sweepBase = `name: base
kind: port-exhaustion
load: {workers: 1}
cell:
  client:
    sysctls: {net.ipv4.ip_local_port_range: "40000 40099"}
`

func TestParseSweepPoints(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(sweepBase), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `name: two-axes
base: base.yaml
axes:
  - path: cell.client.sysctls.net.ipv4.ip_local_port_range
    values: ["40000 40009", "40000 40019"]
  - path: socket.sndbuf
    values: [2048, 4096, 8192]
repetitions: 2
`
	mapAxis := `name: shaping
base: base.yaml
axes:
  - path: cell.shaping
    values:
      - rate: 1mbit
        burst: 1600
        limit: 1600
`
	sw, pts, err := ParseSweep(filepath.Join(dir, "s.sweep.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(pts), 6; got != want {
		t.Fatalf("points = %d, want %d", got, want)
	}
	if sw.Repetitions != 2 {
		t.Errorf("repetitions = %d, want 2", sw.Repetitions)
	}
	// The last axis varies fastest.
	last := pts[5]
	if got, want := strings.Join(last.Values, "|"), "40000 40019|8192"; got != want {
		t.Errorf("point 5 values = %q, want %q", got, want)
	}
	if got, want := string(last.Scenario.Cell.Client.Sysctls["net.ipv4.ip_local_port_range"]), "40000 40019"; got != want {
		t.Errorf("point 5 port range = %q, want %q", got, want)
	}
	if got, want := last.Scenario.Socket.SndBuf, 8192; got != want {
		t.Errorf("point 5 sndbuf = %d, want %d", got, want)
	}
	if got, want := pts[0].Scenario.Load.Workers, 1; got != want {
		t.Errorf("base value load.workers = %d, want %d (kept from the base)", got, want)
	}
	// A mapping value is shown on one line.
	_, pts, err = ParseSweep(filepath.Join(dir, "m.sweep.yaml"), []byte(mapAxis))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pts[0].Values[0], "{rate: 1mbit, burst: 1600, limit: 1600}"; got != want {
		t.Errorf("mapping value shown as %q, want %q", got, want)
	}
	if sh := pts[0].Scenario.Cell.Shaping; sh == nil || sh.Burst != 1600 {
		t.Errorf("shaping = %+v, want burst 1600", sh)
	}
}

func TestParseSweepInvalid(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		// A path the scenario format does not have.
		{"bad-path", "name: s\nscenario: {name: b, kind: port-exhaustion}\naxes:\n  - path: socket.sndbfu\n    values: [1]\n",
			[]string{`4:11: axes[0].path "socket.sndbfu": no field "sndbfu" (allowed: connect_timeout, io_timeout, nodelay, keepalive, sndbuf, rcvbuf, linger, user_timeout)`}},
		// A value the scenario refuses is reported at the value.
		{"global-sysctl", "name: s\nscenario: {name: b, kind: port-exhaustion}\naxes:\n  - path: cell.client.sysctls.net.ipv4.tcp_mem\n    values: [\"1 2 3\"]\n",
			[]string{`5:14: point 0 (1 2 3): cell.client.sysctls: net.ipv4.tcp_mem is host-global (one value for the whole machine, absent or read-only inside a network namespace): a cell cannot vary it and nobufs never writes the host's; the VM lab (a guest with its own kernel and RAM) is the way to vary it`}},
		{"range", "name: s\nscenario: {name: b, kind: port-exhaustion}\naxes:\n  - path: socket.sndbuf\n    values: [512]\n",
			[]string{`5:14: point 0 (512): socket.sndbuf: 512 is out of range (allowed: 0 or 1024–67108864)`}},
		// A problem of the inline scenario itself is placed where the
		// scenario says it, not at the first axis value.
		{"inline-scenario", "name: s\nscenario:\n  name: b\n  kind: port-exhaustion\n  load: {workers: 0}\naxes:\n  - path: socket.sndbuf\n    values: [4096, 8192]\n",
			[]string{`5:19: load.workers: 0 is out of range (allowed: 1–10000)`}},
		// Exactly one base; repetitions bounded; unknown keys.
		{"no-base", "name: s\naxes:\n  - path: socket.sndbuf\n    values: [2048]\nrepetitions: 0\n",
			[]string{`1:1: give base (a scenario file) or scenario (inline), exactly one`, `5:14: repetitions: 0 is out of range (allowed: 1–100)`}},
		{"unknown-key", "name: s\nrepeat: 3\n",
			[]string{`2:1: unknown key "repeat" in the sweep (allowed: name, description, base, scenario, axes, repetitions, columns)`}},
		// Columns: dotted lowercase paths, each once.
		{"columns", "name: s\nscenario: {name: b, kind: port-exhaustion}\naxes:\n  - path: socket.sndbuf\n    values: [2048]\ncolumns: [half_open.completed, Half Open, half_open.completed]\n",
			[]string{`6:32: columns[1] "Half Open": want a dotted path into summary.json such as half_open.completed (lowercase names, digits for list indexes)`,
				`6:43: columns[2] "half_open.completed" is given twice`}},
		{"name-kind", "name: s\nscenario: {name: b, kind: port-exhaustion}\naxes:\n  - path: kind\n    values: [x]\n",
			[]string{`4:11: axes[0].path "kind": a sweep varies settings, not the scenario's kind`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseSweep("s.yaml", []byte(tt.src))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, "s.yaml:"+w)
			}
			if got := ps.Error(); got != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

// TestShippedSweepsValid loads every sweep in scenarios.d/sweeps.
func TestShippedSweepsValid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "scenarios.d", "sweeps", "*.sweep.yaml"))
	if len(files) == 0 {
		t.Fatal("no sweeps in scenarios.d/sweeps")
	}
	for _, f := range files {
		if _, _, err := LoadSweep(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// FuzzParseSweep: any input gives a sweep or Problems, never a panic.
func FuzzParseSweep(f *testing.F) {
	f.Add([]byte("name: s\nscenario: {name: b, kind: port-exhaustion}\naxes:\n  - path: socket.sndbuf\n    values: [2048, 4096]\n"))
	f.Add([]byte("name: s\nscenario: x\naxes:\n  - path: cell.client.sysctls.net.ipv4.tcp_fin_timeout\n    values: [{a: 1}]\n"))
	f.Add([]byte("axes: [{path: cell, values: [[1]]}]\n"))
	f.Add([]byte("\"\": x\n")) // an empty key once reached the unexported Sweep.file (panic)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, pts, err := ParseSweep("f.yaml", data)
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("error %v (%T) is not Problems", err, err)
		}
		if err == nil && len(pts) == 0 {
			t.Fatal("a valid sweep with no points")
		}
	})
}

// TestSweepEmptyKey: an empty key is an unknown key, not a way into the
// sweep's unexported fields (the fuzzer found it panicking).
func TestSweepEmptyKey(t *testing.T) {
	_, _, err := ParseSweep("e.yaml", []byte("\"\": x\nname: s\n"))
	var ps Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), `e.yaml:1:1: unknown key ""`) {
		t.Fatalf("err = %v, want an unknown-key problem at 1:1", err)
	}
}
