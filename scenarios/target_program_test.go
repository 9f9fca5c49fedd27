package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/workers/wire"
)

// TestLaunchedAndWireValid: well-formed launched targets, watches, probes
// and wire sections decode, with their defaults filled.
func TestLaunchedAndWireValid(t *testing.T) {
	sc, err := Parse("ok.yaml", []byte(`
name: ok
kind: churn
target:
  server: tor
  nofile: 512
  params: {ConnLimit: "64"}
  watch: {rules: [{match: 'Failing because', class: server-conn-limit}]}
  probe: {}
wire:
  greeting: tls12-client-hello
  expect: {}
cell: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Target.Builtin != "" || !sc.Target.Launched() || sc.Churn.Peers != 1 {
		t.Errorf("builtin %q, launched %v, peers %d: want none, true, 1 (a server listens on one address)", sc.Target.Builtin, sc.Target.Launched(), sc.Churn.Peers)
	}
	if p := sc.Target.Probe; p.Every.D() != time.Second || p.Timeout.D() != 2*time.Second {
		t.Errorf("probe defaults %v/%v, want 1s/2s", p.Every, p.Timeout)
	}
	if e := sc.Wire.Expect; e.MaxBytes != wire.DefaultMaxBytes || e.Timeout.D() != wire.DefaultTimeout || e.FirstLineMax != wire.DefaultFirstLineMax || e.Lines != wire.DefaultLinesMax {
		t.Errorf("expect defaults %+v", e)
	}
	if !sc.Target.Watch.Kernel || sc.Target.ReadyTimeout.D() != 10*time.Second || sc.Target.StopGrace.D() != 3*time.Second {
		t.Errorf("target defaults: kernel %v, ready %v, grace %v", sc.Target.Watch.Kernel, sc.Target.ReadyTimeout, sc.Target.StopGrace)
	}
	cmd, err := Parse("cmd.yaml", []byte(`
name: cmd
kind: half-open
target:
  command:
    argv: [my-server, '{{.RunDir}}/c.conf']
    files: [{path: c.conf, content: "port {{.Port}} max {{.Max}}\n"}]
  params: {Max: "3"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Target.Command.Ready != ReadyListen {
		t.Errorf("command.ready default %q, want listen", cmd.Target.Command.Ready)
	}
}

// TestLaunchedAndWireInvalid: each mistake is reported at its field, with
// what is allowed.
func TestLaunchedAndWireInvalid(t *testing.T) {
	tests := []struct {
		name, src string
		path, msg string // a problem at path whose message contains msg
	}{
		{"two forms", "kind: half-open\ntarget: {server: redis, address: 127.0.0.1:6379}", "target", "give one of target.builtin, target.address, target.server and target.command"},
		{"unknown server", "kind: half-open\ntarget: {server: memcached}", "target.server", `"memcached" is not allowed (allowed: tor, nginx, redis, haproxy)`},
		{"unknown param", "kind: half-open\ntarget: {server: redis, params: {MaxClient: '3'}}", "target.params.MaxClient", `server redis has no parameter "MaxClient" (it has Extra, LogLevel, MaxClients)`},
		{"built-in key", "kind: half-open\ntarget: {command: {argv: [x]}, params: {Port: '3'}}", "target.params.Port", "is a built-in key"},
		{"haproxy backend", "kind: half-open\ntarget: {server: haproxy}", "target.params", "needs target.params.Backend"},
		{"params without program", "kind: half-open\ntarget: {params: {A: b}}", "target.params", "apply to a launched target"},
		{"nofile without program", "kind: half-open\ntarget: {nofile: 64}", "target.nofile", "a launched program's RLIMIT_NOFILE"},
		{"nofile range", "kind: half-open\ntarget: {server: redis, nofile: 8}", "target.nofile", "out of range (allowed: 0 or 16–1048576)"},
		{"no argv", "kind: half-open\ntarget: {command: {argv: []}}", "target.command.argv", "give the program and its arguments"},
		{"bad template", "kind: half-open\ntarget: {command: {argv: ['{{.Nope}}']}}", "target.command.argv[0]", "template"},
		{"ready", "kind: half-open\ntarget: {command: {argv: [x], ready: soon}}", "target.command.ready", `"soon" is not allowed (allowed: listen, connect)`},
		{"file outside", "kind: half-open\ntarget: {command: {argv: [x], files: [{path: ../x, content: y}]}}", "target.command.files[0].path", "inside the target's run directory"},
		{"watch pid with program", "kind: half-open\ntarget: {server: redis, watch: {pid: 12}}", "target.watch.pid", "watched already"},
		{"relative log", "kind: half-open\ntarget: {address: 127.0.0.1:1, watch: {log: x.log}}", "target.watch.log", "absolute path"},
		{"rule class", "kind: half-open\ntarget: {address: 127.0.0.1:1, watch: {log: /x.log, rules: [{match: x, class: eof}]}}", "target.watch.rules[0].class", `"eof" is not allowed`},
		{"rule regexp", "kind: half-open\ntarget: {address: 127.0.0.1:1, watch: {log: /x.log, rules: [{match: '(', class: server-error}]}}", "target.watch.rules[0].match", "missing closing )"},
		{"rules without lines", "kind: half-open\ntarget: {address: 127.0.0.1:1, watch: {rules: [{match: x, class: server-error}]}}", "target.watch.rules", "need lines"},
		{"probe every", "kind: half-open\ntarget: {probe: {every: 1ms}}", "target.probe.every", "out of range (allowed: 10ms–1h)"},
		{"greeting and payload", "kind: half-open\nwire: {greeting: resp-ping, payload: {text: x}}", "wire.payload", "not both"},
		{"no payload", "kind: half-open\nwire: {repeat: false}", "wire.payload", "wire needs a payload"},
		{"bad escape", "kind: half-open\nwire: {payload: {text: 'a\\q'}}", "wire.payload", "bad escape"},
		{"odd hex", "kind: half-open\nwire: {payload: {hex: '0'}}", "wire.payload", "odd number of hex digits"},
		{"unknown greeting", "kind: half-open\nwire: {greeting: hello}", "wire.greeting", `"hello" is not allowed (allowed: http-get, resp-ping, socks5-hello, tls12-client-hello)`},
		{"expect range", "kind: half-open\nwire: {greeting: resp-ping, expect: {max_bytes: 2000000}}", "wire.expect.max_bytes", "out of range (allowed: 1–1048576)"},
		{"repeat kind", "kind: half-open\nwire: {payload: {text: x}, repeat: true}", "wire.repeat", "applies to kinds churn"},
		{"udp", "kind: udp-push\nwire: {payload: {text: x}}", "wire", "applies to the TCP kinds"},
		{"hold", "kind: hold\nwire: {payload: {text: x}}", "wire", "holds silent connections"},
		{"slow reader expect", "kind: slow-reader\nwire: {payload: {text: x}, expect: {}}", "wire.expect", "reads slowly on purpose"},
		{"churn-peer framing", "kind: churn\ntarget: {builtin: churn-peer}\nwire: {payload: {text: x}}", "wire", "speaks the churn framing"},
		{"churn server without wire", "kind: churn\ntarget: {server: tor}", "wire", "needs wire"},
		{"churn server peers", "kind: churn\ntarget: {server: tor}\nwire: {greeting: tls12-client-hello}\nchurn: {peers: 4}", "churn.peers", "listens on one address"},
		{"syn queue without cell", "kind: half-open\nhalf_open: {mode: syn-queue}", "half_open.mode", "add a cell section"},
		{"half-open mode", "kind: half-open\nhalf_open: {mode: fast}", "half_open.mode", `"fast" is not allowed (allowed: accept-queue, syn-queue)`},
		{"failure class", "kind: half-open\nfailure: {classes: [server-refusd]}", "failure.classes[0]", `"server-refusd" is not allowed`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.name+".yaml", []byte("name: x\n"+tt.src+"\n"))
		var ps Problems
		if !errors.As(err, &ps) {
			t.Errorf("%s: got %v, want problems", tt.name, err)
			continue
		}
		found := false
		for _, p := range ps {
			if p.Path == tt.path && strings.Contains(p.Msg, tt.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no problem at %s saying %q; got:\n%v", tt.name, tt.path, tt.msg, ps)
		}
	}
}

// TestWireWords: a greeting brings its payload and rules; expect fields
// given override them and rules given come first; a payload file is read
// relative to the scenario file.
func TestWireWords(t *testing.T) {
	sc, err := Parse("w.yaml", []byte(`
name: w
kind: half-open
wire:
  greeting: resp-ping
  expect: {timeout: 300ms, rules: [{match: '^-ERR busy', class: server-refused}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	payload, ex, err := sc.Wire.Words()
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != "PING\r\n" || ex.Timeout != 300*time.Millisecond || ex.MaxBytes != wire.DefaultMaxBytes {
		t.Errorf("payload %q, timeout %v, max %d", payload, ex.Timeout, ex.MaxBytes)
	}
	if got := wire.Classify(ex.Rules, []byte("-ERR busy\r\n")); got != "server-refused" {
		t.Errorf("own rule: class %q, want server-refused (tried before the greeting's resp-error)", got)
	}
	if got := wire.Classify(ex.Rules, []byte("+PONG\r\n")); got != wire.ClassRESPPong {
		t.Errorf("greeting rule: class %q, want resp-pong", got)
	}
	if FailingClass(wire.ClassRESPPong) || !FailingClass("server-refused") {
		t.Error("FailingClass: a greeting's good answer is not a failure, a server class is")
	}
	if p, e, err := (*Wire)(nil).Words(); p != nil || e != nil || err != nil {
		t.Errorf("nil wire: %v %v %v", p, e, err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.bin"), []byte{5, 1, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f.yaml")
	if err := os.WriteFile(file, []byte("name: f\nkind: half-open\nwire: {payload: {file: hello.bin}, expect: {binary: true, max_bytes: 2}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if sf.Wire.Payload.File != filepath.Join(dir, "hello.bin") {
		t.Errorf("payload file %q, want it beside the scenario", sf.Wire.Payload.File)
	}
	if p, _, err := sf.Wire.Words(); err != nil || string(p) != "\x05\x01\x00" {
		t.Errorf("payload from file: %q %v", p, err)
	}
}
