package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
)

// A record on the results channel is one line:
//
//	NB1 <seq> <type> <crc> <payload>\n
//
// seq is a decimal sequence number starting at 1 and increasing by one per
// record; type is a short lowercase word; payload is one JSON value (which
// never holds a raw newline); crc is the CRC-32 (IEEE) of "<seq> <type>
// <payload>" as 8 lowercase hex digits. Only this exact, canonical form is
// accepted: a torn, merged or garbled line fails the CRC (or the syntax) and is
// counted as corrupt, and the sequence number tells the reader what went
// missing.

// Magic starts every record line.
const Magic = "NB1"

// Record types written by the guest package. Others may be added by a caller:
// the framing does not restrict them beyond their syntax.
const (
	TypeFacts = "facts" // payload: Facts, the first record of a run
	TypeLine  = "line"  // payload: a JSON string, an opaque timeline line of the engine
	TypeEvent = "event" // payload: Event, a kernel log line worth knowing about
	TypeDone  = "done"  // payload: Done, the last record of a run
)

// MaxRecordLen bounds one record line; longer lines are dropped as noise.
const MaxRecordLen = 1 << 20

// maxTypeLen bounds the type word.
const maxTypeLen = 32

// Record is one decoded record.
type Record struct {
	Seq     uint64
	Type    string
	Payload json.RawMessage
}

// ErrBadRecord is wrapped by every error of ParseRecord and Encoder.Encode
// that is about the record's form.
var ErrBadRecord = errors.New("bad record")

// AppendRecord appends the record line (with its newline) to dst. payload
// must be one valid JSON value without a newline (json.Marshal output is).
func AppendRecord(dst []byte, seq uint64, typ string, payload []byte) ([]byte, error) {
	if err := checkType(typ); err != nil {
		return dst, err
	}
	if seq == 0 {
		return dst, fmt.Errorf("%w: sequence number 0", ErrBadRecord)
	}
	if !json.Valid(payload) || hasNewline(payload) {
		return dst, fmt.Errorf("%w: payload is not one JSON value on one line", ErrBadRecord)
	}
	var num [20]byte
	seqText := strconv.AppendUint(num[:0], seq, 10)
	crc := crc32.Update(0, crc32.IEEETable, seqText)
	crc = crc32.Update(crc, crc32.IEEETable, []byte{' '})
	crc = crc32.Update(crc, crc32.IEEETable, []byte(typ))
	crc = crc32.Update(crc, crc32.IEEETable, []byte{' '})
	crc = crc32.Update(crc, crc32.IEEETable, payload)
	dst = append(dst, Magic...)
	dst = append(dst, ' ')
	dst = append(dst, seqText...)
	dst = append(dst, ' ')
	dst = append(dst, typ...)
	dst = append(dst, ' ')
	dst = fmt.Appendf(dst, "%08x", crc)
	dst = append(dst, ' ')
	dst = append(dst, payload...)
	dst = append(dst, '\n')
	return dst, nil
}

// ParseRecord decodes one record line (without its newline; a trailing "\n"
// is tolerated). It accepts only the canonical form AppendRecord writes.
func ParseRecord(line []byte) (Record, error) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if len(line) > MaxRecordLen {
		return Record{}, fmt.Errorf("%w: longer than %d bytes", ErrBadRecord, MaxRecordLen)
	}
	rest, ok := cutPrefix(line, Magic+" ")
	if !ok {
		return Record{}, fmt.Errorf("%w: no %q", ErrBadRecord, Magic)
	}
	seqText, rest, ok := cutSpace(rest)
	if !ok {
		return Record{}, fmt.Errorf("%w: no sequence number", ErrBadRecord)
	}
	seq, err := parseSeq(seqText)
	if err != nil {
		return Record{}, err
	}
	typ, rest, ok := cutSpace(rest)
	if !ok {
		return Record{}, fmt.Errorf("%w: no type", ErrBadRecord)
	}
	if err := checkType(string(typ)); err != nil {
		return Record{}, err
	}
	crcText, payload, ok := cutSpace(rest)
	if !ok || len(crcText) != 8 {
		return Record{}, fmt.Errorf("%w: no crc", ErrBadRecord)
	}
	want, err := parseHex32(crcText)
	if err != nil {
		return Record{}, err
	}
	crc := crc32.Update(0, crc32.IEEETable, seqText)
	crc = crc32.Update(crc, crc32.IEEETable, []byte{' '})
	crc = crc32.Update(crc, crc32.IEEETable, typ)
	crc = crc32.Update(crc, crc32.IEEETable, []byte{' '})
	crc = crc32.Update(crc, crc32.IEEETable, payload)
	if crc != want {
		return Record{}, fmt.Errorf("%w: crc mismatch", ErrBadRecord)
	}
	if !json.Valid(payload) || hasNewline(payload) {
		return Record{}, fmt.Errorf("%w: payload is not JSON", ErrBadRecord)
	}
	return Record{Seq: seq, Type: string(typ), Payload: append(json.RawMessage(nil), payload...)}, nil
}

func checkType(typ string) error {
	if typ == "" || len(typ) > maxTypeLen {
		return fmt.Errorf("%w: type %q: 1 to %d characters", ErrBadRecord, typ, maxTypeLen)
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		ok := c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-')
		if !ok {
			return fmt.Errorf("%w: type %q: only a-z, then a-z 0-9 -", ErrBadRecord, typ)
		}
	}
	return nil
}

func parseSeq(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 || b[0] == '0' {
		return 0, fmt.Errorf("%w: sequence number %q", ErrBadRecord, b)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: sequence number %q", ErrBadRecord, b)
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: sequence number %q", ErrBadRecord, b)
	}
	return n, nil
}

func parseHex32(b []byte) (uint32, error) {
	var v uint32
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		default:
			return 0, fmt.Errorf("%w: crc %q", ErrBadRecord, b)
		}
	}
	return v, nil
}

func cutPrefix(b []byte, p string) ([]byte, bool) {
	if len(b) < len(p) || string(b[:len(p)]) != p {
		return b, false
	}
	return b[len(p):], true
}

// cutSpace splits b at its first space; the part before must not be empty.
func cutSpace(b []byte) (before, after []byte, ok bool) {
	for i, c := range b {
		if c == ' ' {
			return b[:i], b[i+1:], i > 0
		}
	}
	return nil, nil, false
}

func hasNewline(b []byte) bool {
	for _, c := range b {
		if c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// Encoder writes records with increasing sequence numbers, one Write call per
// record. It is safe for concurrent use.
type Encoder struct {
	mu  sync.Mutex
	w   io.Writer
	seq uint64
	buf []byte
}

// NewEncoder returns an Encoder writing to w; its first record has sequence
// number 1.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode marshals v as the payload of a record of type typ and writes it. It
// returns the record's sequence number. A failed write still uses up the
// number, so the reader sees the loss as a gap.
func (e *Encoder) Encode(typ string, v any) (uint64, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("record %s: %w", typ, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	seq := e.seq + 1
	line, err := AppendRecord(e.buf[:0], seq, typ, payload)
	if err != nil {
		return 0, err
	}
	e.seq = seq
	e.buf = line
	if _, err := e.w.Write(line); err != nil {
		return seq, fmt.Errorf("record %d %s: %w", seq, typ, err)
	}
	return seq, nil
}

// Seq is the sequence number of the last record encoded.
func (e *Encoder) Seq() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seq
}
