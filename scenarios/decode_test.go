package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInvalidFiles checks the exact messages for each bad file under
// testdata/invalid: position, what was found, what is allowed.
func TestInvalidFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		// An unknown key and an out-of-range value are both reported, in file order.
		{"unknown-and-range.yaml", []string{
			`4:12: load.workers: 0 is out of range (allowed: 1–10000)`,
			`5:3: unknown key "wrkers" in load (allowed: model, workers, rate, arrival, stages, seed)`}},
		// YAML syntax errors carry the parser's position.
		{"syntax.yaml", []string{`4:1: not valid YAML: did not find expected ',' or ']'`}},
		// Empty files and files of comments only.
		{"empty.yaml", []string{`1:1: file is empty; a scenario needs at least name and kind`}},
		{"comment-only.yaml", []string{`1:1: file is empty; a scenario needs at least name and kind`}},
		// Binary data is refused before parsing.
		{"binary.yaml", []string{`1:1: file is not UTF-8 text; a scenario is a YAML document`}},
		// The document must be a mapping.
		{"list-root.yaml", []string{`1:1: a scenario is a mapping of keys (name, kind, target, load, …), got a list`}},
		// kind must name a known kind; name is required.
		{"bad-kind.yaml", []string{`2:7: kind: "flood" is not allowed (allowed: port-exhaustion)`}},
		{"no-name.yaml", []string{`1:1: name is required (lowercase letters, digits, '.', '_' or '-', at most 64)`}},
		// Wrong types: each at its value.
		{"types.yaml", []string{
			`4:20: socket.connect_timeout: want a duration like 500ms, 5s or 2m, got "5 parsecs"`,
			`5:12: socket.nodelay: want true or false, got "yes"`,
			`6:11: socket.sndbuf: 512 is out of range (allowed: 0 or 1024–67108864)`}},
		{"huge-int.yaml", []string{`4:12: load.workers: 99999999999999999999999 is too large for this field`}},
		// Combinations.
		{"open-no-rate.yaml", []string{`4:3: the open model needs load.rate > 0 or load.stages`}},
		{"closed-rate.yaml", []string{`4:10: load.rate and load.stages apply to the open model only; set load.model: open`}},
		{"after-without-stop.yaml", []string{`5:18: stop.after_failure applies only with stop.on_failure: true`}},
		{"exchange-server.yaml", []string{`5:13: port_exhaustion.exchange needs close_first: client (an accept-close target closes before it reads)`}},
		{"both-targets.yaml", []string{`4:12: give target.address or target.builtin, not both`}},
		{"reversed-range.yaml", []string{`4:17: port_exhaustion.source_ports "5000-1025": want LOW-HIGH with 1–65535 and LOW <= HIGH`}},
		// Built-in targets listen on loopback only.
		{"listen-public.yaml", []string{`4:11: target.listen "0.0.0.0:9000": built-in targets listen on loopback only (127.0.0.0/8 or ::1)`}},
		// A misspelt class and a repeated one.
		{"classes.yaml", []string{
			`4:22: failure.classes[1]: "enobuf" is not allowed (allowed: enobufs, eaddrnotavail, eaddrinuse, emfile, enfile, econnrefused, econnreset, econnaborted, etimedout, ehostunreach, enetunreach, enetdown, epipe, eagain, einprogress, einval, eacces, eperm, enomem, deadline, eof, canceled, other)`,
			`4:30: failure.classes: "enobufs" is listed twice`}},
		// Nested lists where a name belongs.
		{"deep.yaml", []string{`3:21: failure.classes[0]: want text, got a list`}},
		// A cell sets only sysctls its namespaces own: host-global ones name the VM lab.
		{"cell-global-sysctl.yaml", []string{
			`6:25: cell.client.sysctls: net.ipv4.tcp_mem is host-global (one value for the whole machine, absent or read-only inside a network namespace): a cell cannot vary it and nobufs never writes the host's; the VM lab (a guest with its own kernel and RAM) is the way to vary it`,
			`7:23: cell.client.sysctls: "kernel.pid_max" is not a network-namespace sysctl; a cell sets only net.* sysctls its namespaces own, written with dots (net.ipv4.tcp_fin_timeout)`}},
		// A cell runs the built-in target; an external address cannot be reached from it.
		{"cell-address.yaml", []string{`4:12: target.address cannot be used with cell: a cell runs the built-in target in its target namespace and sends the load there`}},
		// Shaping and faults.
		{"cell-shaping.yaml", []string{
			`4:19: cell.shaping.rate "1 megabit": want a rate such as 1mbit, 500kbit or 8000bit`,
			`4:37: cell.shaping.burst: 10 is out of range (allowed: 1000–67108864)`,
			`6:24: cell.faults[0].action: "unplug" is not allowed (allowed: link-down, link-delete, route-blackhole, route-unreachable, route-prohibit, nft-drop, nft-reject, target-kill)`}},
		// Keys given twice; aliases.
		{"duplicate.yaml", []string{`2:1: key "name" is given twice`}},
		{"alias.yaml", []string{
			`1:1: unknown key "base" in the scenario (allowed: name, description, kind, target, load, socket, limits, stop, failure, expect, cell, port_exhaustion)`,
			`5:7: aliases (*name) are not allowed in scenario files; write the value out`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tt.file)
			sc, err := LoadFile(path)
			if sc != nil {
				t.Errorf("LoadFile returned a scenario for a bad file")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("LoadFile error = %v (%T), want Problems", err, err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, path+":"+w)
			}
			if got := strings.Split(ps.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestEveryInvalidFileIsTested keeps the table and testdata in step.
func TestEveryInvalidFileIsTested(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	src, err := os.ReadFile("decode_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.Contains(string(src), `"`+filepath.Base(f)+`"`) {
			t.Errorf("%s has no row in TestInvalidFiles", f)
		}
	}
}

func TestTooLarge(t *testing.T) {
	data := []byte("name: x\nkind: port-exhaustion\ndescription: " + strings.Repeat("a", MaxFileSize) + "\n")
	_, err := Parse("big.yaml", data)
	if got, want := err.Error(), "big.yaml:1:1: file is larger than 1048576 bytes; a scenario is a short YAML document"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDefaultsFilled(t *testing.T) {
	sc, err := Parse("min.yaml", []byte("name: min\nkind: port-exhaustion\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.Load.Workers, 4; got != want {
		t.Errorf("load.workers = %d, want %d", got, want)
	}
	if got, want := sc.Stop.Duration.D(), 30*time.Second; got != want {
		t.Errorf("stop.duration = %v, want %v", got, want)
	}
	if got, want := sc.Target.Builtin, TargetSink; got != want {
		t.Errorf("target.builtin = %q, want %q (kind default)", got, want)
	}
	if sc.PortExhaustion == nil || sc.PortExhaustion.Method != PortMethodAuto {
		t.Errorf("port_exhaustion defaults not filled: %+v", sc.PortExhaustion)
	}
}

// TestFileOverridesDefaults checks values in the file win and lists replace.
func TestFileOverridesDefaults(t *testing.T) {
	src := "name: o\nkind: port-exhaustion\nload:\n  model: open\n  rate: 250.5\n  stages:\n    - {duration: 2s, target: 10}\nfailure:\n  classes: [emfile]\nsocket:\n  linger: 0\n  nodelay: false\n"
	sc, err := Parse("o.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Load.Rate != 250.5 || len(sc.Load.Stages) != 1 || sc.Load.Stages[0].Duration.D() != 2*time.Second || sc.Load.Stages[0].Target != 10 {
		t.Errorf("load = %+v", sc.Load)
	}
	if got := sc.Failure.Classes; len(got) != 1 || got[0] != "emfile" {
		t.Errorf("failure.classes = %v, want [emfile]", got)
	}
	if sc.Socket.Linger != 0 || sc.Socket.NoDelay {
		t.Errorf("socket = %+v", sc.Socket)
	}
	if sc.Socket.ConnectTimeout.D() != 2*time.Second {
		t.Errorf("socket.connect_timeout = %v, want the default 2s", sc.Socket.ConnectTimeout)
	}
}

// TestShippedScenariosValid loads every file in scenarios.d.
func TestShippedScenariosValid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "scenarios.d", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no scenarios in scenarios.d")
	}
	for _, f := range files {
		if _, err := LoadFile(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestPortRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"40000-40049", 40000, 40049, true},
		{" 1025 - 5000 ", 1025, 5000, true},
		{"1025", 0, 0, false},   // no dash
		{"a-b", 0, 0, false},    // not numbers
		{"10x-20", 0, 0, false}, // trailing junk
		{"", 0, 0, false},       // empty
	}
	for _, tt := range tests {
		p := &PortExhaustion{SourcePorts: tt.in}
		lo, hi, ok := p.PortRange()
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("PortRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, lo, hi, ok, tt.lo, tt.hi, tt.ok)
		}
	}
}
