package wire

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// MaxPayloadBytes bounds a payload from any of its forms (1 MiB).
const MaxPayloadBytes = 1 << 20

// Errors of payload parsing; wrapped with context, test with errors.Is.
var (
	// ErrNoPayload: none of text, hex and file is set.
	ErrNoPayload = errors.New("payload: none of text, hex, file is set")
	// ErrManyForms: more than one of text, hex and file is set.
	ErrManyForms = errors.New("payload: more than one of text, hex, file is set")
	// ErrEmpty: the payload has no bytes.
	ErrEmpty = errors.New("payload is empty")
	// ErrTooLarge: the payload exceeds MaxPayloadBytes.
	ErrTooLarge = errors.New("payload is larger than the limit")
	// ErrNotRegular: a payload file is a FIFO, device, socket or directory.
	ErrNotRegular = errors.New("payload file is not a regular file")
	// ErrBadEscape: text holds a backslash sequence other than \r \n \t \\ \0 \xHH.
	ErrBadEscape = errors.New("bad escape")
	// ErrBadHex: hex holds a character other than hex digits and white space.
	ErrBadHex = errors.New("bad hex digit")
	// ErrOddHex: hex holds an odd number of digits.
	ErrOddHex = errors.New("odd number of hex digits")
)

// SyntaxError is a text or hex payload's error with the byte offset in the
// source where it is.
type SyntaxError struct {
	Offset int   // byte offset in the source string
	Err    error // ErrBadEscape, ErrBadHex or ErrOddHex
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %v", e.Offset, e.Err) }

// Unwrap returns the kind of error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Payload is the scenario-facing form of what a connection sends first:
// exactly one of Text, Hex or File (see the package doc).
type Payload struct {
	Text string `yaml:"text,omitempty" json:"text,omitempty"`
	Hex  string `yaml:"hex,omitempty" json:"hex,omitempty"`
	File string `yaml:"file,omitempty" json:"file,omitempty"`
}

// ParsePayload returns the bytes a Payload stands for.
func ParsePayload(p Payload) ([]byte, error) {
	n := 0
	for _, s := range []string{p.Text, p.Hex, p.File} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return nil, ErrNoPayload
	case n > 1:
		return nil, ErrManyForms
	}
	var (
		b   []byte
		err error
	)
	switch {
	case p.Text != "":
		b, err = ParseText(p.Text)
		if err != nil {
			return nil, fmt.Errorf("payload text: %w", err)
		}
	case p.Hex != "":
		b, err = ParseHex(p.Hex)
		if err != nil {
			return nil, fmt.Errorf("payload hex: %w", err)
		}
	default:
		return ReadPayloadFile(p.File, MaxPayloadBytes)
	}
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	if len(b) > MaxPayloadBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxPayloadBytes)
	}
	return b, nil
}

// ParseText reads the escapes \r \n \t \\ \0 \xHH in s; every other byte
// stands for itself.
func ParseText(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(s) {
			return nil, &SyntaxError{Offset: i, Err: ErrBadEscape}
		}
		switch s[i+1] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case '0':
			out = append(out, 0)
		case 'x':
			if i+3 >= len(s) {
				return nil, &SyntaxError{Offset: i, Err: ErrBadEscape}
			}
			hi, ok1 := unhex(s[i+2])
			lo, ok2 := unhex(s[i+3])
			if !ok1 || !ok2 {
				return nil, &SyntaxError{Offset: i, Err: ErrBadEscape}
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			return nil, &SyntaxError{Offset: i, Err: ErrBadEscape}
		}
		i++
	}
	return out, nil
}

// ParseHex reads pairs of hex digits; spaces, tabs, CR and LF between the
// digits are ignored.
func ParseHex(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/2)
	var hi byte
	half := false
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, &SyntaxError{Offset: i, Err: ErrBadHex}
		}
		last = i
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		return nil, &SyntaxError{Offset: last, Err: ErrOddHex}
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ReadPayloadFile reads a regular file of at most max bytes. Anything else
// — a FIFO, a device, a socket, a directory — is refused with
// ErrNotRegular before it is opened, so a FIFO cannot block the caller.
func ReadPayloadFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("payload file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("payload file %s (%s): %w", path, kindOf(fi.Mode()), ErrNotRegular)
	}
	f, err := openNoBlock(path)
	if err != nil {
		return nil, fmt.Errorf("payload file: %w", err)
	}
	defer f.Close()
	// The path may have been replaced between Stat and Open: check what was opened.
	ofi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("payload file: %w", err)
	}
	if !ofi.Mode().IsRegular() || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("payload file %s changed while opening: %w", path, ErrNotRegular)
	}
	if ofi.Size() > max {
		return nil, fmt.Errorf("payload file %s: %w: %d bytes, limit %d", path, ErrTooLarge, ofi.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("payload file %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("payload file %s: %w: grew beyond %d bytes", path, ErrTooLarge, max)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("payload file %s: %w", path, ErrEmpty)
	}
	return b, nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return m.Type().String()
}

// Escape writes b as text that ParseText reads back to b: printable ASCII
// as itself, a backslash as \\, CR LF TAB NUL as \r \n \t \0, every other
// byte as \xHH. First lines in replies and summaries are shown this way.
func Escape(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteString(escapeByte(c))
	}
	return sb.String()
}

const hexDigits = "0123456789abcdef"

func escapeByte(c byte) string {
	switch c {
	case '\\':
		return `\\`
	case '\r':
		return `\r`
	case '\n':
		return `\n`
	case '\t':
		return `\t`
	case 0:
		return `\0`
	}
	if c >= 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return `\x` + string([]byte{hexDigits[c>>4], hexDigits[c&15]})
}
