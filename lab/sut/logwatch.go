package sut

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits of a LogWatch.
const (
	// MaxMatchLine bounds the first matching line kept per class (bytes).
	MaxMatchLine = 240
	// maxFollowRead bounds what one Sample reads from a followed file.
	maxFollowRead = 1 << 20
)

// Rule maps a log line to a class: the first rule whose pattern matches
// a line gives its class.
type Rule struct {
	Pattern *regexp.Regexp
	Class   string
}

// Match is what a watch saw of one class.
type Match struct {
	Class string `json:"class"`
	Count uint64 `json:"count"`
	// First is when the first matching line was seen (read), FirstLine
	// that line (cut at MaxMatchLine bytes).
	First     time.Time `json:"first"`
	FirstLine string    `json:"first_line"`
	// Kernel is the kernel timestamp (time since boot) of the first
	// kernel log record of the class; 0 for other logs.
	Kernel time.Duration `json:"kernel_ns,omitempty"`
}

// LogSample is a LogWatch reading: lines seen so far and the matches per
// class, in the order the classes were first seen.
type LogSample struct {
	Lines   uint64  `json:"lines"`
	Matches []Match `json:"matches"`
}

// Match returns the class's match; false when none was seen.
func (s LogSample) Match(class string) (Match, bool) {
	for _, m := range s.Matches {
		if m.Class == class {
			return m, true
		}
	}
	return Match{}, false
}

// matcher counts rule matches; safe for concurrent use.
type matcher struct {
	mu      sync.Mutex
	rules   []Rule
	lines   uint64
	matches []Match
	// onMatch, when set, is called with each matching line, outside mu.
	onMatch func(MatchedLine)
}

// MatchedLine is one line that matched a rule, handed to an OnMatch
// function as it is seen.
type MatchedLine struct {
	Class string
	Line  string // cut at MaxMatchLine bytes
	Time  time.Time
	// Kernel is the kernel log record's timestamp (time since boot); 0
	// for other logs.
	Kernel time.Duration
}

// feed classifies one line; it returns the class ("" when no rule matches).
func (m *matcher) feed(line string, at time.Time, kernel time.Duration) string {
	class := ""
	for _, r := range m.rules {
		if r.Pattern.MatchString(line) {
			class = r.Class
			break
		}
	}
	m.mu.Lock()
	m.lines++
	if class == "" {
		m.mu.Unlock()
		return ""
	}
	found := false
	for i := range m.matches {
		if m.matches[i].Class == class {
			m.matches[i].Count++
			found = true
			break
		}
	}
	if !found {
		m.matches = append(m.matches, Match{Class: class, Count: 1, First: at, FirstLine: cutLine(line, MaxMatchLine), Kernel: kernel})
	}
	on := m.onMatch
	m.mu.Unlock()
	if on != nil {
		on(MatchedLine{Class: class, Line: cutLine(line, MaxMatchLine), Time: at, Kernel: kernel})
	}
	return class
}

func (m *matcher) setOnMatch(fn func(MatchedLine)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onMatch = fn
}

func (m *matcher) sample() LogSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return LogSample{Lines: m.lines, Matches: slices.Clone(m.matches)}
}

// cutLine cuts s to at most n bytes on a rune boundary.
func cutLine(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ErrNoRules: a watch without rules would count nothing.
var ErrNoRules = errors.New("no rules")

// LogWatch classifies a program's log lines by rules and keeps, per class,
// the count, the first time and the first line. Lines come from a
// launched program's output (Feed, or OnLine as Spec.OnLine) or from a
// file it follows (Follow; read on each Sample). Feed is safe for
// concurrent use with Sample.
type LogWatch struct {
	m matcher

	// The followed file (Sample's goroutine only).
	path    string
	f       *os.File
	off     int64
	partial []byte
}

// NewLogWatch makes a watch with rules (tried in order).
func NewLogWatch(rules []Rule) (*LogWatch, error) {
	if len(rules) == 0 {
		return nil, fmt.Errorf("sut: log watch: %w", ErrNoRules)
	}
	for i, r := range rules {
		if r.Pattern == nil || r.Class == "" {
			return nil, fmt.Errorf("sut: log watch: rule %d: %w", i, ErrSpec)
		}
	}
	return &LogWatch{m: matcher{rules: slices.Clone(rules)}}, nil
}

// Feed classifies one line seen at at; it returns the line's class ("" when
// no rule matches).
func (w *LogWatch) Feed(line string, at time.Time) string { return w.m.feed(line, at, 0) }

// SetOnMatch makes the watch call fn with every line that matches a rule,
// as it is fed or read (from the goroutine feeding or sampling), after
// counting it. A caller that records signals as they happen uses it.
func (w *LogWatch) SetOnMatch(fn func(MatchedLine)) { w.m.setOnMatch(fn) }

// OnLine feeds a launched program's output line; use it as Spec.OnLine.
func (w *LogWatch) OnLine(l Line) { w.m.feed(l.Text, l.Time, 0) }

// Follow makes Sample read the lines appended to path: from its current
// end, or from its start when fromStart. It follows a file that is
// truncated (reads again from its start) or replaced (rotation: the rest
// of the old file, then the new one from its start).
func (w *LogWatch) Follow(path string, fromStart bool) error {
	if w.f != nil {
		return fmt.Errorf("sut: log watch already follows %s", w.path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sut: log watch: %w", err)
	}
	var off int64
	if !fromStart {
		if off, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return fmt.Errorf("sut: log watch: %w", err)
		}
	}
	w.path, w.f, w.off = path, f, off
	return nil
}

// Sample reads what the followed file gained (at most 1 MiB per call; the
// rest on the next) and returns the matches so far.
func (w *LogWatch) Sample() (LogSample, error) {
	var err error
	if w.f != nil {
		err = w.poll()
	}
	return w.m.sample(), err
}

// Close stops following the file.
func (w *LogWatch) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

func (w *LogWatch) poll() error {
	budget := maxFollowRead
	// Rotation: the path names another file now. Finish the old one, then
	// switch (the new file is read from its start).
	if cur, err := os.Stat(w.path); err == nil {
		old, ferr := w.f.Stat()
		if ferr == nil && !os.SameFile(cur, old) {
			budget -= w.read(budget)
			if nf, err := os.Open(w.path); err == nil {
				w.f.Close()
				w.f, w.off, w.partial = nf, 0, nil
			}
		}
	}
	fi, err := w.f.Stat()
	if err != nil {
		return fmt.Errorf("sut: log watch: %w", err)
	}
	if fi.Size() < w.off {
		w.off, w.partial = 0, nil // truncated
	}
	w.read(budget)
	return nil
}

// read reads up to budget bytes from the offset and feeds complete lines.
func (w *LogWatch) read(budget int) int {
	if budget <= 0 {
		return 0
	}
	buf := make([]byte, min(budget, 64<<10))
	total := 0
	now := time.Now()
	for total < budget {
		n, err := w.f.ReadAt(buf[:min(len(buf), budget-total)], w.off)
		w.off += int64(n)
		total += n
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				w.partial = append(w.partial, data...)
				if len(w.partial) > maxLine {
					w.partial = w.partial[:maxLine] // a line too long: keep its start
				}
				break
			}
			line := append(w.partial, data[:i]...)
			w.partial = nil
			w.m.feed(string(bytes.TrimSuffix(line, []byte{'\r'})), now, 0)
			data = data[i+1:]
		}
		if err != nil || n == 0 {
			break
		}
	}
	return total
}
