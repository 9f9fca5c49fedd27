package vm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Gap is a run of sequence numbers that never arrived (From..To inclusive).
type Gap struct {
	From, To uint64
}

// String renders the gap as "5" or "5-9".
func (g Gap) String() string {
	if g.From == g.To {
		return fmt.Sprint(g.From)
	}
	return fmt.Sprintf("%d-%d", g.From, g.To)
}

// ReadStats tells what a Reader saw besides the records it returned.
type ReadStats struct {
	Records  int    // records accepted
	LastSeq  uint64 // sequence number of the last record accepted
	Done     bool   // a record of type "done" was accepted
	Noise    int    // lines that hold no record at all (BIOS, kernel, anything)
	Corrupt  int    // lines that start a record (NB1 …) but fail its checks
	Replayed int    // well-formed records whose sequence number was not above the last one
	Gaps     []Gap  // sequence numbers skipped between accepted records
}

// Missing is the number of sequence numbers in the gaps.
func (s ReadStats) Missing() uint64 {
	var n uint64
	for _, g := range s.Gaps {
		n += g.To - g.From + 1
	}
	return n
}

// Reader reads records out of a serial byte stream that may also carry other
// output: it removes terminal escape sequences and control characters (the
// BIOS clears the screen, a tty adds "\r"), finds the record in each line,
// checks it, and keeps count of what it dropped. It is not safe for
// concurrent use.
type Reader struct {
	br    *bufio.Reader
	stats ReadStats
	line  []byte // the raw line being read
	clean []byte // the line without escapes
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Stats returns what the reader has seen so far.
func (r *Reader) Stats() ReadStats {
	s := r.stats
	s.Gaps = append([]Gap(nil), r.stats.Gaps...)
	return s
}

// Next returns the next valid record. At the end of the stream it returns
// io.EOF (a last line without a newline is still considered); any other error
// is the underlying reader's.
func (r *Reader) Next() (Record, error) {
	for {
		line, tooLong, err := r.readLine()
		if tooLong {
			r.stats.Noise++
		} else if len(line) > 0 {
			if rec, ok := r.accept(line); ok {
				return rec, nil
			}
		}
		if err != nil {
			return Record{}, err
		}
	}
}

// readLine returns the next line with its newline, or tooLong when it is
// longer than any record may be (its bytes are then dropped).
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.line = r.line[:0]
	for {
		frag, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.line)+len(frag) > MaxRecordLen+1 {
				tooLong = true
				r.line = r.line[:0]
			} else {
				r.line = append(r.line, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return r.line, tooLong, err
	}
}

// accept looks for a record in one raw line and updates the counts.
func (r *Reader) accept(raw []byte) (Record, bool) {
	r.clean = Clean(r.clean[:0], raw)
	line := r.clean
	idx := bytes.Index(line, []byte(Magic+" "))
	if idx < 0 {
		if len(bytes.TrimSpace(line)) > 0 {
			r.stats.Noise++
		}
		return Record{}, false
	}
	// A torn record may be followed, on the same line, by a whole one:
	// try every start.
	for idx >= 0 {
		rec, err := ParseRecord(line[idx:])
		if err == nil {
			if rec.Seq <= r.stats.LastSeq {
				r.stats.Replayed++
				return Record{}, false
			}
			if rec.Seq > r.stats.LastSeq+1 {
				r.stats.Gaps = append(r.stats.Gaps, Gap{From: r.stats.LastSeq + 1, To: rec.Seq - 1})
			}
			r.stats.LastSeq = rec.Seq
			r.stats.Records++
			if rec.Type == TypeDone {
				r.stats.Done = true
			}
			return rec, true
		}
		next := bytes.Index(line[idx+1:], []byte(Magic+" "))
		if next < 0 {
			break
		}
		idx += 1 + next
	}
	r.stats.Corrupt++
	return Record{}, false
}

// Clean appends to dst the printable text of one line of terminal output:
// escape sequences (CSI "ESC [ … final", OSC "ESC ] … BEL", two-byte ones such
// as "ESC c") and control characters other than tab are removed, and so is a
// trailing newline.
func Clean(dst, line []byte) []byte {
	const esc = 0x1b
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == esc && i+1 < len(line) && line[i+1] == '[':
			// CSI: parameters and intermediates, then a final byte 0x40–0x7e.
			i += 2
			for i < len(line) && (line[i] < 0x40 || line[i] > 0x7e) {
				i++
			}
		case c == esc && i+1 < len(line) && line[i+1] == ']':
			// OSC: up to BEL or ESC \.
			i += 2
			for i < len(line) && line[i] != 0x07 && !(line[i] == esc && i+1 < len(line) && line[i+1] == '\\') {
				i++
			}
			if i < len(line) && line[i] == esc {
				i++
			}
		case c == esc:
			// nF (ESC, intermediates 0x20–0x2f, final) or a two-byte sequence.
			i++
			for i < len(line) && line[i] >= 0x20 && line[i] <= 0x2f {
				i++
			}
		case c == '\t' || c >= 0x20 && c != 0x7f:
			dst = append(dst, c)
		}
	}
	return dst
}
