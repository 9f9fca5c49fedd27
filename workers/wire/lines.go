package wire

import (
	"cmp"
	"slices"
)

// DefaultLinesMax is the number of distinct lines a Lines table keeps when
// NewLines is given 0.
const DefaultLinesMax = 16

// LineCount is one distinct first line and how many replies had it.
type LineCount struct {
	Line  string `json:"line"`
	Count uint64 `json:"count"`
}

// Lines is a bounded table of distinct first lines with their counts: at
// most Max distinct lines; a reply whose line is new when the table is full
// is counted in Other. Total = sum of counts + Other is always exact.
//
// Each worker keeps its own table; tables are merged once at the end
// (Merge). A Lines is not safe for concurrent use.
type Lines struct {
	max    int
	counts map[string]uint64
	other  uint64
}

// NewLines makes an empty table keeping at most max distinct lines
// (DefaultLinesMax when max ≤ 0).
func NewLines(max int) *Lines {
	if max <= 0 {
		max = DefaultLinesMax
	}
	return &Lines{max: max, counts: make(map[string]uint64, max)}
}

// Add counts one reply with first line line.
func (l *Lines) Add(line string) { l.AddN(line, 1) }

// AddN counts n replies with first line line.
func (l *Lines) AddN(line string, n uint64) {
	if n == 0 {
		return
	}
	if _, ok := l.counts[line]; ok || len(l.counts) < l.max {
		l.counts[line] += n
		return
	}
	l.other += n
}

// Merge adds o's counts to l. When the two tables hold at most Max distinct
// lines together and neither has an Other, the result is exactly the table
// one worker would have kept seeing both streams. Otherwise the Total stays
// exact and the lines kept are those with the highest merged counts (ties:
// the smaller line), the rest going to Other — so a.Merge(b) and b.Merge(a)
// give equal tables.
func (l *Lines) Merge(o *Lines) {
	if o == nil {
		return
	}
	for line, n := range o.counts {
		l.counts[line] += n
	}
	l.other += o.other
	if len(l.counts) <= l.max {
		return
	}
	rows := l.rows()
	for _, r := range rows[l.max:] {
		delete(l.counts, r.Line)
		l.other += r.Count
	}
}

// Rows returns the kept lines, highest count first (ties: smaller line
// first).
func (l *Lines) Rows() []LineCount { return l.rows() }

func (l *Lines) rows() []LineCount {
	rows := make([]LineCount, 0, len(l.counts))
	for line, n := range l.counts {
		rows = append(rows, LineCount{Line: line, Count: n})
	}
	slices.SortFunc(rows, func(a, b LineCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return rows
}

// Other counts the replies whose line the table had no room for.
func (l *Lines) Other() uint64 { return l.other }

// Total counts all replies added.
func (l *Lines) Total() uint64 {
	t := l.other
	for _, n := range l.counts {
		t += n
	}
	return t
}

// Max is the number of distinct lines the table keeps.
func (l *Lines) Max() int { return l.max }

// Count returns how many replies had line; false when it is not kept.
func (l *Lines) Count(line string) (uint64, bool) {
	n, ok := l.counts[line]
	return n, ok
}
