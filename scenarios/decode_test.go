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
			`5:3: unknown key "wrkers" in load (allowed: model, workers, rate, arrival, stages, seed, segments)`}},
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
		{"bad-kind.yaml", []string{`2:7: kind: "flood" is not allowed (allowed: ` + strings.Join(Kinds, ", ") + `)`}},
		{"no-name.yaml", []string{`1:1: name is required (lowercase letters, digits, '.', '_' or '-', at most 64)`}},
		// Wrong types: each at its value.
		{"types.yaml", []string{
			`4:20: socket.connect_timeout: want a duration like 500ms, 5s or 2m, got "5 parsecs"`,
			`5:12: socket.nodelay: want true or false, got "yes"`,
			`6:11: socket.sndbuf: 512 is out of range (allowed: 0 or 1024–67108864)`}},
		{"huge-int.yaml", []string{`4:12: load.workers: 99999999999999999999999 is too large for this field`}},
		{"huge-uint.yaml", []string{`4:12: stop.max_ops: 99999999999999999999999 is too large for this field`}},
		// Combinations.
		{"open-no-rate.yaml", []string{`4:3: the open model needs load.rate > 0 or load.stages`}},
		{"closed-rate.yaml", []string{`4:10: load.rate and load.stages apply to the open model only; set load.model: open`}},
		{"after-without-stop.yaml", []string{`5:18: stop.after_failure applies only with stop.on_failure: true`}},
		{"exchange-server.yaml", []string{`5:13: port_exhaustion.exchange needs close_first: client (an accept-close target closes before it reads)`}},
		{"both-targets.yaml", []string{`4:12: give target.address or target.builtin, not both`}},
		{"reversed-range.yaml", []string{`4:17: port_exhaustion.source_ports "5000-1025": want LOW-HIGH with 1–65535 and LOW <= HIGH`}},
		// Churn distributions: unknown name, reversed range, wrong unit, shape out of range.
		{"churn-dist.yaml", []string{
			`4:13: churn.lifetime: "weibull(2s)": unknown distribution "weibull" (allowed: fixed, uniform, exponential, lognormal, pareto)`,
			`5:8: churn.gap: "uniform(2s, 1s)": uniform(LO, HI) needs LO <= HI`,
			`6:9: churn.send: "exponential(2s)": "2s" is not a byte count such as 4096`,
			`7:10: churn.reply: "pareto(100, 20)": the pareto shape "20" must be a number above 0 and at most 10`}},
		// Peer addresses must stay inside 127.0.0.0/8; rst is a fraction.
		{"churn-peers.yaml", []string{
			`6:10: churn.peers: 10 peers from 127.255.255.250 run past 127.255.255.255 (target.listen is 127.255.255.250:0)`,
			`7:8: churn.rst: 1.5 is out of range (allowed: 0–1)`}},
		// A cell's target side has one address: several churn peers cannot be reached there.
		{"churn-peers-cell.yaml", []string{`5:10: churn.peers: 4 peers need 4 consecutive loopback addresses, and a cell's target side has one address (its veth's); set churn.peers: 1 in a cell`}},
		// Churn needs the target that answers its bursts.
		{"churn-target.yaml", []string{`4:12: kind churn needs target.builtin: churn-peer (it answers each burst), got sink`}},
		// Half-open ranges.
		{"half-open-range.yaml", []string{
			`4:16: half_open.max_pending: -1 is out of range (allowed: 0 or 1–100000)`,
			`5:20: half_open.max_new_per_sec: 0.001 is out of range (allowed: 0 or 0.01–1000000)`,
			`6:9: half_open.hold: 25h is out of range (allowed: 0s–24h)`}},
		// A kind's section in a scenario of another kind.
		{"section-kind.yaml", []string{`4:3: half_open applies to kind half-open only, this scenario is kind port-exhaustion`}},
		// Built-in targets listen on loopback only.
		{"listen-public.yaml", []string{`4:11: target.listen "0.0.0.0:9000": built-in targets listen on loopback only (127.0.0.0/8 or ::1)`}},
		// A misspelt class and a repeated one.
		{"classes.yaml", []string{
			`4:22: failure.classes[1]: "enobuf" is not allowed (allowed: enobufs, eaddrnotavail, eaddrinuse, emfile, enfile, econnrefused, econnreset, econnaborted, etimedout, ehostunreach, enetunreach, enetdown, epipe, eagain, einprogress, einval, eacces, eperm, enomem, deadline, eof, canceled, other, ` + strings.Join(ErrorClasses[23:], ", ") + `)`,
			`4:30: failure.classes: "enobufs" is listed twice`}},
		// Nested lists where a name belongs.
		{"deep.yaml", []string{`3:21: failure.classes[0]: want text, got a list`}},
		// dead-peer: a target that reads everything back, a reaper bound below 1024.
		{"dead-peer-target.yaml", []string{
			`4:12: kind dead-peer needs target.builtin non-reader, vanish or sink, got echo`,
			`7:17: dead_peer.reaper.max_queued: 100 is out of range (allowed: 0 or 1024–1099511627776)`}},
		// udp-push: a TCP target and TCP-only socket options.
		{"udp-tcp-options.yaml", []string{
			`4:12: kind udp-push sends UDP and needs target.builtin: udp-sink, got sink`,
			`6:17: socket.user_timeout is a TCP option; kind udp-push sends UDP`,
			`7:11: socket.linger applies to TCP; kind udp-push sends UDP (leave it -1)`}},
		// The UDP sink and the udp_push section belong to kind udp-push.
		{"udp-sink-tcp-kind.yaml", []string{
			`4:12: target.builtin: udp-sink receives UDP and serves kind udp-push only`,
			`6:3: udp_push applies to kind udp-push only, this scenario is kind port-exhaustion`}},
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
		// A rate whose bits per second do not fit in 64 bits (it would wrap to 290448384).
		{"cell-shaping-overflow.yaml", []string{`4:19: cell.shaping.rate "18446744074gbit": want a rate such as 1mbit, 500kbit or 8000bit`}},
		// Poisson arrivals need a constant rate; a fault after the run's end never happens.
		{"poisson-stages.yaml", []string{`5:12: load.arrival: poisson needs a constant rate (load.rate without load.stages); stages ramp evenly spaced arrivals`}},
		{"cell-fault-late.yaml", []string{`6:12: cell.faults[0].at 5s is not before stop.duration 2s: the fault would never happen`}},
		// Integers as written: not quoted, not tagged as another type,
		// decimal without leading zeros (010 is not silently 8); a
		// duration too large for its range is printed as such, not wrapped
		// around to a negative one.
		{"ints.yaml", []string{
			`3:17: load.workers: want an integer, got the text "4" (write it without quotes)`,
			`3:28: load.seed: want a non-negative integer, got "3" tagged !!float`,
			`4:17: stop.max_ops: want a decimal integer without leading zeros or a 0x/0o/0b prefix, got "010"`,
			`4:32: stop.duration: 2562047h47m16.854775807s is out of range (allowed: 1ms–24h)`,
			`5:18: limits.nofile: want a non-negative integer, got -5`,
			`6:29: port_exhaustion.exchange: want a decimal integer without leading zeros or a 0x/0o/0b prefix, got "0x10"`}},
		// Thresholds: a bound in the wrong unit, none at all, a class that is
		// not one, an empty range, a ratio over 100 %, delay without abort,
		// abort on a metric the timeline does not carry, dropped in the
		// closed model, a field filled after thresholds are judged.
		{"thresholds.yaml", []string{
			`5:10: thresholds[0].max "5": this metric is a time: write a duration such as 250ms or 30s`,
			`6:5: thresholds[1]: give max, min or both`,
			`8:12: thresholds[2].class: "enobufz" is not an error class (allowed: ` + strings.Join(ErrorClasses, ", ") + `)`,
			`9:10: thresholds[2].min is larger than thresholds[2].max: no value can pass`,
			`12:10: thresholds[3].max "150%": a ratio is between 0 and 1 (0%–100%)`,
			`13:12: thresholds[3].delay applies only with abort: true`,
			`16:12: thresholds[4].abort: connect.max is known only when the run ends (abort applies to ttf, ops_before_failure, errors, error_rate, ok_rate, ok_per_sec, dropped, dropped_rate, peak_open and paths under ops, peak_open, bytes_out, bytes_in, time_to_failure, elapsed_sec)`,
			`17:13: thresholds[5].metric dropped: only the open model drops arrivals (load.model is closed)`,
			`19:13: thresholds[6].metric "cell.setup_ms": cell is filled after thresholds are judged; a threshold cannot name it`}},
		// Keys given twice; aliases.
		{"duplicate.yaml", []string{`2:1: key "name" is given twice`}},
		{"alias.yaml", []string{
			`1:1: unknown key "base" in the scenario (allowed: name, description, kind, target, load, socket, limits, stop, failure, expect, cell, wire, vm, ` + kindSections() + `, thresholds)`,
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
		{"01025-5000", 0, 0, false},
		{"+1025-5000", 0, 0, false},
		{"1025-5000-6000", 0, 0, false},
		{"99999999999999999999-5000", 0, 0, false},
	}
	for _, tt := range tests {
		p := &PortExhaustion{SourcePorts: tt.in}
		lo, hi, ok := p.PortRange()
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("PortRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, lo, hi, ok, tt.lo, tt.hi, tt.ok)
		}
	}
}

func TestParseDist(t *testing.T) {
	dur := Bounds["churn.lifetime"]
	size := Bounds["churn.send"]
	tests := []struct {
		in       string
		duration bool
		want     Dist
		err      string // "" when valid
	}{
		{"fixed(2s)", true, Dist{Name: DistFixed, A: 2e9}, ""},
		{" uniform( 1s ,3s ) ", true, Dist{Name: DistUniform, A: 1e9, B: 3e9}, ""},
		{"exponential(0)", true, Dist{Name: DistExponential}, ""},
		{"lognormal(4096, 0.5)", false, Dist{Name: DistLognormal, A: 4096, B: 0.5}, ""},
		{"pareto(500ms, 1.5)", true, Dist{Name: DistPareto, A: 5e8, B: 1.5}, ""},
		// Scale outside the field's range.
		{"fixed(2h)", true, Dist{}, `"fixed(2h)": 2h is out of range (allowed: 0s–1h)`},
		{"fixed(16777217)", false, Dist{}, `"fixed(16777217)": 16777217 is out of range (allowed: 0–16777216)`},
		// Syntax and arity.
		{"exponential 2s", true, Dist{}, `"exponential 2s": want NAME(ARGS) with NAME one of fixed, uniform, exponential, lognormal, pareto, e.g. exponential(2s)`},
		{"uniform(1s)", true, Dist{}, `"uniform(1s)": uniform takes 2 argument(s), got 1`},
		{"pareto(0, 2)", false, Dist{}, `"pareto(0, 2)": pareto(MIN, ALPHA) needs MIN > 0`},
		{"lognormal(1s, -1)", true, Dist{}, `"lognormal(1s, -1)": the lognormal shape "-1" must be a number above 0 and at most 10`},
		{"pareto(1s, NaN)", true, Dist{}, `"pareto(1s, NaN)": the pareto shape "NaN" must be a number above 0 and at most 10`},
		{"fixed(-5)", false, Dist{}, `"fixed(-5)": -5 is out of range (allowed: 0–16777216)`},
	}
	for _, tt := range tests {
		b := size
		if tt.duration {
			b = dur
		}
		got, err := ParseDist(tt.in, tt.duration, b)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.err || got != tt.want {
			t.Errorf("ParseDist(%q) = %+v, %q; want %+v, %q", tt.in, got, gotErr, tt.want, tt.err)
		}
	}
}

func TestPeerAddrs(t *testing.T) {
	tests := []struct {
		base        string
		peers       int
		first, last string
		err         bool
	}{
		{"127.42.0.1:42000", 32, "127.42.0.1:42000", "127.42.0.32:42000", false},
		{"127.0.0.250:0", 10, "127.0.0.250:0", "127.0.1.3:0", false}, // carries into the next octet
		{"[::1]:9000", 1, "[::1]:9000", "[::1]:9000", false},         // one peer: any address
		{"[::1]:9000", 2, "", "", true},                              // IPv6 has one loopback address
		{"10.0.0.1:9000", 2, "", "", true},                           // not loopback
		{"127.255.255.255:1", 2, "", "", true},                       // past 127/8
	}
	for _, tt := range tests {
		got, err := PeerAddrs(tt.base, tt.peers)
		if (err != nil) != tt.err {
			t.Errorf("PeerAddrs(%s, %d) error %v, want error %v", tt.base, tt.peers, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if len(got) != tt.peers || got[0].String() != tt.first || got[len(got)-1].String() != tt.last {
			t.Errorf("PeerAddrs(%s, %d) = %v, want %d from %s to %s", tt.base, tt.peers, got, tt.peers, tt.first, tt.last)
		}
	}
}

// kindSections lists the kinds' section keys, as the decoder's "allowed"
// list ends with them.
func kindSections() string {
	var out []string
	for _, k := range KindSpecs {
		out = append(out, k.Section)
	}
	return strings.Join(out, ", ")
}

// TestChurnPeersWithAddress: against target.address (one server, one
// address) churn.peers defaults to 1, not 16; a file that sets it keeps it
// (issue 9 item 24: 36 of 40 connects went to addresses nobody listened on).
func TestChurnPeersWithAddress(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want int
	}{
		{"name: c\nkind: churn\ntarget: {address: \"127.0.0.1:6379\"}\n", 1},
		{"name: c\nkind: churn\ntarget: {address: \"127.0.0.1:6379\"}\nchurn: {peers: 4}\n", 4},
		{"name: c\nkind: churn\n", 16},
	} {
		sc, err := Parse("c.yaml", []byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		if sc.Churn.Peers != tt.want {
			t.Errorf("%q: churn.peers = %d, want %d", tt.src, sc.Churn.Peers, tt.want)
		}
	}
}
