package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePayload(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello.bin")
	if err := os.WriteFile(bin, []byte{0x16, 0x03, 0x01}, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxPayloadBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		p       Payload
		want    []byte
		wantErr error
	}{
		{"http request: escapes read", Payload{Text: `GET / HTTP/1.1\r\nHost: x\r\n\r\n`}, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), nil},
		{"all escapes", Payload{Text: `a\tb\\c\0d\x00\xffE\n`}, []byte("a\tb\\c\x00d\x00\xffE\n"), nil},
		{"raw control bytes pass (YAML double quotes already read them)", Payload{Text: "PING\r\n"}, []byte("PING\r\n"), nil},
		{"hex with spaces and newlines", Payload{Hex: "05 01\n00"}, []byte{5, 1, 0}, nil},
		{"hex upper case", Payload{Hex: "DEADbeef"}, []byte{0xde, 0xad, 0xbe, 0xef}, nil},
		{"file", Payload{File: bin}, []byte{0x16, 0x03, 0x01}, nil},
		{"file through a symlink", Payload{File: link}, []byte{0x16, 0x03, 0x01}, nil},
		{"nothing set", Payload{}, nil, ErrNoPayload},
		{"two forms", Payload{Text: "a", Hex: "61"}, nil, ErrManyForms},
		{"bad escape", Payload{Text: `a\qb`}, nil, ErrBadEscape},
		{"trailing backslash", Payload{Text: `a\`}, nil, ErrBadEscape},
		{"short \\x", Payload{Text: `\x4`}, nil, ErrBadEscape},
		{"non-hex \\x", Payload{Text: `\xzz`}, nil, ErrBadEscape},
		{"bad hex digit", Payload{Hex: "0g"}, nil, ErrBadHex},
		{"0x prefix is not hex", Payload{Hex: "0x05"}, nil, ErrBadHex},
		{"odd hex", Payload{Hex: "050"}, nil, ErrOddHex},
		{"hex of only spaces", Payload{Hex: "   "}, nil, ErrEmpty},
		{"empty file", Payload{File: empty}, nil, ErrEmpty},
		{"file too large", Payload{File: big}, nil, ErrTooLarge},
		{"text too large", Payload{Text: strings.Repeat("a", MaxPayloadBytes+1)}, nil, ErrTooLarge},
		{"directory", Payload{File: dir}, nil, ErrNotRegular},
		{"missing file", Payload{File: filepath.Join(dir, "nope")}, nil, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePayload(tt.p)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParsePayload() error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePayload() error = %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("ParsePayload() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	tests := []struct {
		src        string
		hex        bool
		wantOffset int
	}{
		{`abc\q`, false, 3},
		{`\x4g`, false, 0},
		{"00 11 2z", true, 7},
		{"00 1", true, 3},
	}
	for _, tt := range tests {
		var err error
		if tt.hex {
			_, err = ParseHex(tt.src)
		} else {
			_, err = ParseText(tt.src)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: error %v is not a *SyntaxError", tt.src, err)
		}
		if got := se.Offset; got != tt.wantOffset {
			t.Errorf("%q: offset = %d, want %d", tt.src, got, tt.wantOffset)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("+PONG\r\n"), `+PONG\r\n`},
		{[]byte{0x16, 0x03, 0x03, 0x00, 0x3d, 0x02}, `\x16\x03\x03\0=\x02`},
		{[]byte(`a\b`), `a\\b`},
		{[]byte("é"), `\xc3\xa9`},
		{[]byte{0x7f, ' ', '~'}, `\x7f ~`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %s, want %s", tt.in, got, tt.want)
		}
		back, err := ParseText(tt.want)
		if err != nil || !bytes.Equal(back, tt.in) {
			t.Errorf("ParseText(%s) = %q, %v, want %q", tt.want, back, err, tt.in)
		}
	}
}

func TestGreetingsParse(t *testing.T) {
	for _, g := range Greetings() {
		b, err := ParsePayload(g.Payload)
		if err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		if len(b) == 0 || g.Want == "" || len(g.Expect.Rules) == 0 {
			t.Errorf("%s: payload %d bytes, want class %q, %d rules", g.Name, len(b), g.Want, len(g.Expect.Rules))
		}
	}
	// The ClientHello's lengths agree with its size: record, handshake.
	b := TLSClientHello.Bytes()
	if got, want := int(b[3])<<8|int(b[4]), len(b)-5; got != want {
		t.Errorf("TLS record length = %d, want %d", got, want)
	}
	if got, want := int(b[6])<<16|int(b[7])<<8|int(b[8]), len(b)-9; got != want {
		t.Errorf("TLS handshake length = %d, want %d", got, want)
	}
	if got, want := hex.EncodeToString(SOCKS5Hello.Bytes()), "050100"; got != want {
		t.Errorf("SOCKS5 hello = %s, want %s", got, want)
	}
}

func FuzzParseText(f *testing.F) {
	for _, s := range []string{`GET / HTTP/1.1\r\n\r\n`, `\x16\x03\x01`, `\0\\\t`, `\`, `\x`, `\xg0`, "raw\r\n\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseText(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrBadEscape) || se.Offset < 0 || se.Offset >= len(s) || s[se.Offset] != '\\' {
				t.Fatalf("ParseText(%q) error %v: want a *SyntaxError at a backslash", s, err)
			}
			return
		}
		if len(b) > len(s) {
			t.Fatalf("ParseText(%q) gave %d bytes from %d", s, len(b), len(s))
		}
		// Escape is ParseText's inverse.
		e := Escape(b)
		back, err := ParseText(e)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("ParseText(Escape(%q)) = %q, %v", b, back, err)
		}
	})
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"05 01 00", "16030100\n d6", "0", "zz", " \t\r\n"} {
		f.Add(s, []byte{1, 2})
	}
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		b, err := ParseHex(s)
		if err == nil && 2*len(b) > len(s) {
			t.Fatalf("ParseHex(%q) gave %d bytes", s, len(b))
		}
		if err != nil && !errors.Is(err, ErrBadHex) && !errors.Is(err, ErrOddHex) {
			t.Fatalf("ParseHex(%q) error %v: want ErrBadHex or ErrOddHex", s, err)
		}
		// Any bytes, hex-encoded with white space between the pairs, come back.
		var sb strings.Builder
		for i, c := range raw {
			sb.WriteString(hex.EncodeToString([]byte{c}))
			sb.WriteString([]string{"", " ", "\n", "\t "}[i%4])
		}
		got, err := ParseHex(sb.String())
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("ParseHex(%q) = %x, %v, want %x", sb.String(), got, err, raw)
		}
	})
}
