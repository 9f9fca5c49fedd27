package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"
	"unicode/utf8"
)

// Defaults of an Expect's zero fields.
const (
	DefaultMaxBytes     = 512
	DefaultTimeout      = 2 * time.Second
	DefaultFirstLineMax = 120
)

// Rule gives a reply a class when its pattern matches the reply's bytes
// (read as Latin-1, see the package doc).
type Rule struct {
	Pattern *regexp.Regexp
	Class   string
}

// RuleSpec is a Rule as a scenario writes it: {match: REGEXP, class: NAME}.
type RuleSpec struct {
	Match string `yaml:"match" json:"match"`
	Class string `yaml:"class" json:"class"`
}

// ErrNoClass: a rule without a class.
var ErrNoClass = errors.New("rule has no class")

// CompileRules compiles rule specs; every bad rule is reported, joined.
func CompileRules(specs []RuleSpec) ([]Rule, error) {
	var errs []error
	rules := make([]Rule, 0, len(specs))
	for i, s := range specs {
		re, err := regexp.Compile(s.Match)
		if err != nil {
			errs = append(errs, fmt.Errorf("rules[%d].match: %w", i, err))
			continue
		}
		if s.Class == "" {
			errs = append(errs, fmt.Errorf("rules[%d]: %w", i, ErrNoClass))
			continue
		}
		rules = append(rules, Rule{Pattern: re, Class: s.Class})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

// Expect says how to read a reply. Zero fields take the defaults above.
type Expect struct {
	// MaxBytes bounds the bytes read.
	MaxBytes int
	// Timeout bounds the time Read waits, from its call.
	Timeout time.Duration
	// FirstLineMax bounds Reply.FirstLine, in characters of its escaped form.
	FirstLineMax int
	// Binary: the reply is not line-based; read up to MaxBytes, do not
	// stop at a newline, and show all bytes read as the first line.
	Binary bool
	// Rules classify the reply; the first that matches wins.
	Rules []Rule
}

// Reply is what Read saw.
type Reply struct {
	// FirstLine is the reply's first line without its line ending (in Binary
	// mode: all bytes read), escaped as by Escape and cut to FirstLineMax.
	FirstLine string
	// Cut: FirstLine was cut to FirstLineMax.
	Cut bool
	// Bytes is the number of bytes read.
	Bytes int
	// Class is the class of the first rule that matched, "" when none did.
	Class string
	// Took is the time from Read's call to its stop.
	Took time.Duration
	// Err is nil when the reply was complete (a newline, or MaxBytes
	// bytes); otherwise why reading stopped, wrapped: io.EOF,
	// syscall.ECONNRESET, os.ErrDeadlineExceeded (the Timeout) or another
	// read error. The bytes read before it are still counted and matched.
	Err error
}

// Conn is what Read needs of a connection; a net.Conn is one.
type Conn interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// Read reads one reply from conn (see the package doc for when it stops),
// then clears conn's read deadline.
func (e Expect) Read(conn Conn) Reply {
	maxBytes := e.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	t0 := time.Now()
	buf := make([]byte, maxBytes)
	n := 0
	var err error
	if derr := conn.SetReadDeadline(t0.Add(timeout)); derr != nil {
		err = fmt.Errorf("wire: set read deadline: %w", derr)
	}
	for err == nil && n < maxBytes {
		var k int
		k, err = conn.Read(buf[n:])
		if !e.Binary && bytes.IndexByte(buf[n:n+k], '\n') >= 0 {
			n += k
			err = nil
			break
		}
		n += k
		if err != nil {
			err = fmt.Errorf("wire: read reply: %w", err)
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	r := Reply{Bytes: n, Took: time.Since(t0), Err: err}
	r.FirstLine, r.Cut = e.firstLine(buf[:n])
	r.Class = Classify(e.Rules, buf[:n])
	return r
}

func (e Expect) firstLine(b []byte) (string, bool) {
	if !e.Binary {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[:i]
		}
		b = bytes.TrimSuffix(b, []byte{'\r'})
	}
	max := e.FirstLineMax
	if max <= 0 {
		max = DefaultFirstLineMax
	}
	return cutEscaped(b, max)
}

// cutEscaped escapes b, keeping whole escapes within max characters.
func cutEscaped(b []byte, max int) (string, bool) {
	out := make([]byte, 0, min(len(b), max))
	for _, c := range b {
		s := escapeByte(c)
		if len(out)+len(s) > max {
			return string(out), true
		}
		out = append(out, s...)
	}
	return string(out), false
}

// Classify returns the class of the first rule whose pattern matches b read
// as Latin-1, "" when none does.
func Classify(rules []Rule, b []byte) string {
	if len(rules) == 0 {
		return ""
	}
	s := latin1(b)
	for _, r := range rules {
		if r.Pattern != nil && r.Pattern.MatchString(s) {
			return r.Class
		}
	}
	return ""
}

// latin1 maps each byte to the rune of the same value.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}

// Timeout reports whether a reply ended by the Timeout.
func (r Reply) Timeout() bool { return errors.Is(r.Err, os.ErrDeadlineExceeded) }
