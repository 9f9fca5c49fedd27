package schema

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadTimeline(t *testing.T) {
	tests := []struct {
		name, data string
		samples    int
		truncated  bool
		err        string
	}{
		{"good", schema1Timeline, 2, false, ""},
		// Killed mid-line: the incomplete last line is dropped.
		{"truncated", schema1Timeline + `{"type":"sample","seq":3,"elap`, 2, true, ""},
		{"corrupt line", schema1Timeline + "garbage\n", 0, false, "t.ndjson:4: not a timeline line"},
		{"future schema", strings.Replace(schema1Timeline, `"schema":1`, `"schema":99`, 1), 0, false, "t.ndjson:1: schema 99 is not one this version reads"},
		{"no start line", `{"type":"sample","seq":1}` + "\n", 0, false, `t.ndjson:1: first line is "sample", want the start line`},
		{"unknown type", schema1Timeline + `{"type":"bogus"}` + "\n", 0, false, `t.ndjson:4: unknown line type "bogus"`},
		{"empty", "", 0, false, ""},
	}
	for _, tt := range tests {
		tl, err := ReadTimeline("t.ndjson", strings.NewReader(tt.data))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(tl.Samples) != tt.samples || tl.Truncated != tt.truncated {
			t.Errorf("%s: %d samples truncated=%v, want %d %v", tt.name, len(tl.Samples), tl.Truncated, tt.samples, tt.truncated)
		}
	}
}

// TestRebuildErrorOrder: a rebuilt summary orders its errors as a written
// one does (docs/results.md): most frequent first; classes earliest first.
func TestRebuildErrorOrder(t *testing.T) {
	tl, err := ReadTimeline("t.ndjson", strings.NewReader(schema1Timeline+
		`{"type":"sample","seq":3,"elapsed_sec":3,"ok":0,"failed":9,"errors":[{"phase":"socket","class":"emfile","code":24,"n":9}]}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := Rebuild(tl)
	var errs, classes []string
	for _, e := range s.Errors {
		errs = append(errs, fmt.Sprintf("%s:%d", e.Class, e.Count))
	}
	for _, c := range s.Classes {
		classes = append(classes, fmt.Sprintf("%s@%g", c.Class, c.FirstAt))
	}
	if got, want := strings.Join(errs, " "), "emfile:9 eaddrnotavail:7"; got != want {
		t.Errorf("rebuilt errors = %s, want %s (most frequent first)", got, want)
	}
	if got, want := strings.Join(classes, " "), "eaddrnotavail@2 emfile@3"; got != want {
		t.Errorf("rebuilt classes = %s, want %s (earliest first)", got, want)
	}
}

// FuzzReadTimeline: any bytes give a timeline or an error, never a panic,
// and a rebuilt summary from any decodable timeline is consistent.
func FuzzReadTimeline(f *testing.F) {
	f.Add([]byte(schema1Timeline))
	f.Add([]byte(schema1Timeline + `{"type":"end","status":"passed","stop_reason":"failure","elapsed_sec":2.5}` + "\n"))
	f.Add([]byte(`{"type":"start","schema":1}` + "\n" + `{"type":"sample","errors":[{"n":18446744073709551615}]}` + "\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := ReadTimeline("f", strings.NewReader(string(data)))
		if err != nil || tl.Start == nil {
			return
		}
		s := Rebuild(tl)
		if s.Ops.Issued != s.Ops.OK+s.Ops.Failed {
			t.Errorf("issued %d != ok %d + failed %d", s.Ops.Issued, s.Ops.OK, s.Ops.Failed)
		}
	})
}

// FuzzReadSummary: any summary.json content gives a summary or an error.
func FuzzReadSummary(f *testing.F) {
	f.Add([]byte(`{"schema":1,"status":"passed","scenario":{"name":"x"}}`))
	f.Add([]byte(`{"schema":0}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSummary("f", data)
		if (s == nil) == (err == nil) {
			t.Fatalf("DecodeSummary = %v, %v: want a summary or an error", s, err)
		}
	})
}

// schema1Timeline is a schema 1 timeline: readers keep reading them.
const schema1Timeline = `{"type":"start","schema":1,"tool":{"name":"nobufs","version":"t"},"scenario":{"name":"t","kind":"port-exhaustion","failure":{"classes":["eaddrnotavail"]},"expect":{"failure":"any"}},"started":"2026-11-22T03:00:00Z","target":{"mode":"sink","address":"127.0.0.1:1"}}
{"type":"sample","seq":1,"elapsed_sec":1,"ok":100,"failed":0,"dropped":0,"open":3}
{"type":"sample","seq":2,"elapsed_sec":2,"ok":50,"failed":7,"dropped":1,"open":5,"errors":[{"phase":"connect","class":"eaddrnotavail","code":99,"n":7}]}
`

// TestReadTimelineEvents: event lines (a VM guest's kernel, its death) are
// read in file order wherever they come after the start line, also after
// the end line; a rebuilt summary is the same with or without them.
func TestReadTimelineEvents(t *testing.T) {
	src := `{"type":"start","schema":2,"scenario":{"name":"x","kind":"churn"},"started":"2026-12-01T12:00:00Z"}
{"type":"event","elapsed_sec":-2.5,"source":"guest-kernel","kind":"tcp-oom","text":"TCP: out of memory -- consider tuning tcp_mem"}
{"type":"sample","seq":1,"elapsed_sec":1,"issued":3,"ok":2}
{"type":"event","elapsed_sec":1.25,"source":"guest-kernel","kind":"tcp-orphans","text":"TCP: too many orphaned sockets"}
{"type":"end","status":"passed","stop_reason":"duration","elapsed_sec":1,"time_to_failure":null}
{"type":"event","elapsed_sec":1.5,"source":"vm","kind":"guest-panic","text":"Kernel panic"}
`
	tl, err := ReadTimeline("t", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []EventLine{
		{Type: "event", Elapsed: -2.5, Source: EventSourceGuestKernel, Kind: "tcp-oom", Text: "TCP: out of memory -- consider tuning tcp_mem"},
		{Type: "event", Elapsed: 1.25, Source: EventSourceGuestKernel, Kind: "tcp-orphans", Text: "TCP: too many orphaned sockets"},
		{Type: "event", Elapsed: 1.5, Source: EventSourceVM, Kind: "guest-panic", Text: "Kernel panic"},
	}
	if len(tl.Events) != len(want) {
		t.Fatalf("events: got %d, want %d", len(tl.Events), len(want))
	}
	for i := range want {
		if tl.Events[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, tl.Events[i], want[i])
		}
	}
	if len(tl.Samples) != 1 || tl.End == nil {
		t.Errorf("samples %d, end %v", len(tl.Samples), tl.End)
	}
	if s := Rebuild(tl); s.Ops.OK != 2 || s.Status != StatusPassed {
		t.Errorf("rebuilt: ok %d, status %s", s.Ops.OK, s.Status)
	}
	if _, err := ReadTimeline("t", strings.NewReader(`{"type":"start","schema":2}`+"\n"+`{"type":"event","elapsed_sec":"soon"}`+"\n")); err == nil {
		t.Error("a bad event line was accepted")
	}
}
