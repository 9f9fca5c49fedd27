package vm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

func rec(tb testing.TB, seq uint64, typ string, v any) string {
	tb.Helper()
	p, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	line, err := AppendRecord(nil, seq, typ, p)
	if err != nil {
		tb.Fatal(err)
	}
	return string(line)
}

func readAll(tb testing.TB, r io.Reader) ([]Record, ReadStats) {
	tb.Helper()
	rd := NewReader(r)
	var out []Record
	for i := 0; ; i++ {
		if i > 1_000_000 {
			tb.Fatal("reader does not end")
		}
		rec, err := rd.Next()
		if err == io.EOF {
			return out, rd.Stats()
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, rec)
	}
}

// TestReaderSerialNoise feeds what a serial console really carries: the BIOS's
// escape codes, "\r\n", kernel lines, a record after escape codes on the same
// line, a torn record merged with the next one, a lost one, a replay.
func TestReaderSerialNoise(t *testing.T) {
	r1 := rec(t, 1, TypeFacts, map[string]int{"mem_total_kb": 94800})
	r2 := rec(t, 2, TypeLine, "t=1s")
	r3 := rec(t, 3, TypeLine, "t=2s")
	r4 := rec(t, 4, TypeLine, "t=3s")
	r6 := rec(t, 6, TypeEvent, Event{Kind: EventTCPOOM, Text: "TCP: out of memory -- consider tuning tcp_mem"})
	r7 := rec(t, 7, TypeDone, Done{OK: true})
	crlf := func(s string) string { return strings.TrimSuffix(s, "\n") + "\r\n" }
	stream := "\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)\r\n" +
		"\r\n" +
		"Booting from ROM...\r\n" +
		"\x1bc\x1b[?7l\x1b[2J" + crlf(r1) + // a record right after the screen clear
		"[    0.000000] Linux version 6.1.0\r\n" +
		crlf(r2) +
		r3[:20] + r4 + // r3 torn, r4 whole on the same line
		crlf(r2) + // replayed
		// r5 lost
		r6 +
		"NB1 this is not a record\n" +
		r7 +
		"[    2.2] reboot: Restarting system"
	recs, st := readAll(t, strings.NewReader(stream))
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%d:%s", r.Seq, r.Type))
	}
	if want := "1:facts 2:line 4:line 6:event 7:done"; strings.Join(got, " ") != want {
		t.Errorf("records = %v, want %s", got, want)
	}
	want := ReadStats{Records: 5, LastSeq: 7, Done: true, Noise: 4, Corrupt: 1, Replayed: 1, Gaps: []Gap{{3, 3}, {5, 5}}}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if got, want := st.Missing(), uint64(2); got != want {
		t.Errorf("missing = %d, want %d", got, want)
	}
}

func TestReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", MaxRecordLen+10) + "\n"
	stream := rec(t, 1, TypeLine, "a") + long + rec(t, 2, TypeLine, "b")
	recs, st := readAll(t, strings.NewReader(stream))
	if len(recs) != 2 || st.Noise != 1 {
		t.Errorf("got %d records, %d noise lines; want 2 and 1", len(recs), st.Noise)
	}
	// A record as long as allowed passes.
	big := strings.Repeat("y", MaxRecordLen-100)
	recs, _ = readAll(t, strings.NewReader(rec(t, 1, TypeLine, big)))
	if len(recs) != 1 {
		t.Errorf("a %d-byte record: got %d records, want 1", MaxRecordLen-100, len(recs))
	}
}

func TestReaderLastLineWithoutNewline(t *testing.T) {
	r := strings.TrimSuffix(rec(t, 1, TypeDone, Done{OK: true}), "\n")
	recs, st := readAll(t, strings.NewReader(r))
	if len(recs) != 1 || !st.Done {
		t.Errorf("records %d done %v, want 1 and true", len(recs), st.Done)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\r\n", "a"},
		{"\x1b[2J\x1b[0mSeaBIOS", "SeaBIOS"},
		{"\x1bc\x1b[?7lx", "x"},
		{"\x1b]0;title\x07after", "after"},
		{"\x1b]0;title\x1b\\after", "after"},
		{"\x1b(Bx", "x"},
		{"tab\tkept", "tab\tkept"},
		{"nul\x00del\x7f", "nuldel"},
		{"\x1b[", ""},
		{"\x1b", ""},
	}
	for _, tt := range tests {
		if got := string(Clean(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzReader: any input, no panic; every record accepted is, re-encoded, a
// piece of the input's printable text, so the reader never makes one up.
func FuzzReader(f *testing.F) {
	f.Add([]byte(rec(f, 1, TypeLine, "a") + "noise\r\n" + rec(f, 3, TypeDone, Done{OK: true})))
	f.Add([]byte("\x1bc\x1b[2J" + rec(f, 1, TypeFacts, Facts{MemTotalKB: 1})))
	f.Add([]byte("NB1 1 line 00000000 \"x\"\nNB1 \n NB1 NB1 2"))
	f.Add([]byte(rec(f, 2, TypeLine, "b") + rec(f, 1, TypeLine, "a")))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, st := readAll(t, bytes.NewReader(in))
		var clean []byte
		for _, line := range bytes.SplitAfter(in, []byte{'\n'}) {
			clean = append(Clean(clean, line), '\n')
		}
		var last uint64
		for _, r := range recs {
			line, err := AppendRecord(nil, r.Seq, r.Type, r.Payload)
			if err != nil {
				t.Fatalf("accepted record %+v does not encode: %v", r, err)
			}
			if !bytes.Contains(clean, line) {
				t.Fatalf("accepted record %q is not in the input", line)
			}
			if r.Seq <= last {
				t.Fatalf("seq %d after %d", r.Seq, last)
			}
			last = r.Seq
		}
		if st.Records != len(recs) {
			t.Fatalf("stats say %d records, got %d", st.Records, len(recs))
		}
	})
}

// FuzzReaderCorrupt garbles one byte of a valid stream: the reader may lose
// records, but every record it accepts is one that was sent, unchanged.
func FuzzReaderCorrupt(f *testing.F) {
	f.Add("t=1s ok=5", uint(10), byte('x'))
	f.Add("", uint(0), byte('M'))
	f.Add("payload", uint(47), byte('\n'))
	f.Add("z", uint(30), byte(0x1b))
	f.Add("z", uint(33), byte('\r'))
	f.Fuzz(func(t *testing.T, text string, pos uint, b byte) {
		var sent []Record
		var stream []byte
		for i, v := range []any{Facts{MemTotalKB: 94800}, text, Done{OK: true}} {
			typ := []string{TypeFacts, TypeLine, TypeDone}[i]
			p, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			stream, err = AppendRecord(stream, uint64(i+1), typ, p)
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, Record{Seq: uint64(i + 1), Type: typ, Payload: p})
		}
		i := int(pos % uint(len(stream)))
		if stream[i] == b {
			return
		}
		stream[i] = b
		recs, _ := readAll(t, bytes.NewReader(stream))
		for _, r := range recs {
			if r.Seq < 1 || r.Seq > uint64(len(sent)) {
				t.Fatalf("byte %d set to %q: accepted seq %d, never sent", i, b, r.Seq)
			}
			s := sent[r.Seq-1]
			if r.Type != s.Type || !bytes.Equal(r.Payload, s.Payload) {
				t.Fatalf("byte %d set to %q: accepted %d %s %s, sent %d %s %s", i, b, r.Seq, r.Type, r.Payload, s.Seq, s.Type, s.Payload)
			}
		}
	})
}
