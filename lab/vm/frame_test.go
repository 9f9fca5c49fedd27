package vm

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		seq     uint64
		typ     string
		payload string
	}{
		{1, "facts", `{"mem_total_kb":94800}`},
		{2, "line", `"t=1s ok=5 err=0"`},
		{18446744073709551615, "done", `{"ok":true}`}, // the largest sequence number
		{7, "x-1", `null`},
		{8, "line", `"with \"quotes\", spaces and NB1 1 line 00000000 \"inside\""`},
	}
	for _, tt := range tests {
		line, err := AppendRecord(nil, tt.seq, tt.typ, []byte(tt.payload))
		if err != nil {
			t.Fatalf("AppendRecord(%d, %q, %s): %v", tt.seq, tt.typ, tt.payload, err)
		}
		got, err := ParseRecord(line)
		if err != nil {
			t.Fatalf("ParseRecord(%q): %v", line, err)
		}
		if got.Seq != tt.seq || got.Type != tt.typ || string(got.Payload) != tt.payload {
			t.Errorf("round trip of %q = %d %q %s, want %d %q %s", line, got.Seq, got.Type, got.Payload, tt.seq, tt.typ, tt.payload)
		}
	}
}

// TestRecordGolden pins the wire format: a change here breaks guests built
// with an older nobufs.
func TestRecordGolden(t *testing.T) {
	got, err := AppendRecord(nil, 3, "line", []byte(`"hello"`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "NB1 3 line 797059db \"hello\"\n"; string(got) != want {
		t.Errorf("AppendRecord = %q, want %q", got, want)
	}
}

func TestParseRecordRejects(t *testing.T) {
	good, err := AppendRecord(nil, 42, "line", []byte(`"abc"`))
	if err != nil {
		t.Fatal(err)
	}
	g := strings.TrimSuffix(string(good), "\n")
	f := strings.Fields(g) // NB1 42 line <crc> "abc"
	tests := []struct {
		name, line string
	}{
		{"empty", ""},
		{"other magic", "NB2" + g[3:]},
		{"lower magic", "nb1" + g[3:]},
		{"no payload", strings.Join(f[:4], " ")},
		{"payload cut", g[:len(g)-1]},
		{"payload changed", strings.Replace(g, "abc", "abd", 1)},
		{"seq changed", strings.Replace(g, " 42 ", " 43 ", 1)},
		{"seq with a leading zero", strings.Replace(g, " 42 ", " 042 ", 1)},
		{"seq zero", "NB1 0 line " + f[3] + ` "abc"`},
		{"seq not a number", strings.Replace(g, " 42 ", " 4x ", 1)},
		{"type changed", strings.Replace(g, " line ", " lime ", 1)},
		{"type upper case", strings.Replace(g, " line ", " LINE ", 1)},
		{"crc upper case", strings.Replace(g, f[3], strings.ToUpper(f[3]), 1)},
		{"crc short", strings.Replace(g, f[3], f[3][:7], 1)},
		{"two spaces", strings.Replace(g, " line ", " line  ", 1)},
		{"not JSON", recordWithBadPayload(`abc`)},
		{"two JSON values", recordWithBadPayload(`1 2`)},
		{"carriage return in payload", recordWithBadPayload("\"a\r\"")},
	}
	for _, tt := range tests {
		if rec, err := ParseRecord([]byte(tt.line)); !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: ParseRecord(%q) = %+v, %v; want ErrBadRecord", tt.name, tt.line, rec, err)
		}
	}
}

// recordWithBadPayload builds a line with a right CRC around a payload that
// AppendRecord would refuse.
func recordWithBadPayload(payload string) string {
	crc := crc32.ChecksumIEEE([]byte("1 line " + payload))
	return fmt.Sprintf("NB1 1 line %08x %s", crc, payload)
}

func TestAppendRecordRejects(t *testing.T) {
	tests := []struct {
		name    string
		seq     uint64
		typ     string
		payload string
	}{
		{"seq 0", 0, "line", `1`},
		{"empty type", 1, "", `1`},
		{"type with a space", 1, "a b", `1`},
		{"type starting with a digit", 1, "1a", `1`},
		{"type too long", 1, strings.Repeat("a", 33), `1`},
		{"not JSON", 1, "line", `{`},
		{"newline in payload", 1, "line", "{\n}"},
	}
	for _, tt := range tests {
		if _, err := AppendRecord(nil, tt.seq, tt.typ, []byte(tt.payload)); !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: AppendRecord error = %v, want ErrBadRecord", tt.name, err)
		}
	}
}

// TestEncoderConcurrent: records from several goroutines get every sequence
// number once, and each is written whole.
func TestEncoderConcurrent(t *testing.T) {
	var buf lockedBuffer
	enc := NewEncoder(&buf)
	const workers, each = 4, 250
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := enc.Encode(TypeLine, fmt.Sprintf("w%d i%d", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, line := range bytes.SplitAfter(buf.b.Bytes(), []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		rec, err := ParseRecord(line)
		if err != nil {
			t.Fatalf("ParseRecord(%q): %v", line, err)
		}
		if seen[rec.Seq] {
			t.Fatalf("seq %d twice", rec.Seq)
		}
		seen[rec.Seq] = true
	}
	if got, want := len(seen), workers*each; got != want {
		t.Errorf("%d records, want %d", got, want)
	}
	for s := uint64(1); s <= workers*each; s++ {
		if !seen[s] {
			t.Errorf("seq %d missing", s)
		}
	}
	if got, want := enc.Seq(), uint64(workers*each); got != want {
		t.Errorf("Seq() = %d, want %d", got, want)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestEncoderWriteError: a failed write uses up its sequence number, so the
// reader sees a gap.
func TestEncoderWriteError(t *testing.T) {
	w := &flakyWriter{failOn: 2}
	enc := NewEncoder(w)
	for i := 1; i <= 3; i++ {
		_, err := enc.Encode(TypeLine, i)
		if (err != nil) != (i == 2) {
			t.Errorf("record %d: error %v", i, err)
		}
	}
	r := NewReader(bytes.NewReader(w.b.Bytes()))
	for {
		if _, err := r.Next(); err != nil {
			break
		}
	}
	if got, want := fmt.Sprint(r.Stats().Gaps), "[2]"; got != want {
		t.Errorf("gaps = %s, want %s", got, want)
	}
}

type flakyWriter struct {
	n, failOn int
	b         bytes.Buffer
}

func (f *flakyWriter) Write(p []byte) (int, error) {
	f.n++
	if f.n == f.failOn {
		return 0, errors.New("flaky")
	}
	return f.b.Write(p)
}
