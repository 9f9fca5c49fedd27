// Package segment splits one scenario's work between processes, after
// k6's execution segments: a segment is a rational interval (From, To] of
// the work, 0 ≤ From < To ≤ 1. Scale(v) = round(v·To) − round(v·From)
// gives each segment its share of any count, and the shares of segments
// that tile (0, 1] add up to v exactly, with nothing lost or counted twice
// and no coordinator: each process computes its own share.
//
// Operation indices are global: a segment owns a striped subset of the
// indices 1, 2, 3, … — in every period of Den indices, the positions Lo…Hi−1
// (Global maps its own j-th operation to the global index; Ops(v) counts
// those up to v) — so the segments of a run issue exactly the operations
// one process would, and every draw seeded by an operation index is the
// same. Ops and Scale differ by at most one; both tile exactly (Scale is
// k6's rounding, for counts such as workers; Ops follows the stripes, for
// operation bounds).
package segment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nobufs/nobufs/scenarios"
)

// MaxCount bounds the number of segments of one run.
const MaxCount = 1000

// Segment is the interval (From, To] of a run's work, with From and To
// fractions over one denominator: (Lo/Den, Hi/Den].
type Segment struct {
	Lo, Hi, Den uint64

	// offsets are the positions, within one period of Den operations,
	// of the operations this segment owns (1-based).
	offsets []uint64
}

// Whole is the segment of a run that is not split.
var Whole = MustNew(0, 1, 1)

// Of returns segment index (0-based) of count equal segments:
// (index/count, (index+1)/count].
func Of(index, count int) (Segment, error) {
	if count < 1 || count > MaxCount {
		return Segment{}, fmt.Errorf("segments: %d is out of range (1–%d)", count, MaxCount)
	}
	if index < 0 || index >= count {
		return Segment{}, fmt.Errorf("segment index %d: want 0–%d for %d segments", index, count-1, count)
	}
	return New(uint64(index), uint64(index+1), uint64(count))
}

// New returns the segment (lo/den, hi/den].
func New(lo, hi, den uint64) (Segment, error) {
	if den == 0 || den > MaxCount || lo >= hi || hi > den {
		return Segment{}, fmt.Errorf("segment %d/%d–%d/%d: want 0 ≤ from < to ≤ 1 over a denominator of at most %d", lo, den, hi, den, MaxCount)
	}
	s := Segment{Lo: lo, Hi: hi, Den: den}
	for p := lo; p < hi; p++ {
		s.offsets = append(s.offsets, p+1)
	}
	return s, nil
}

// MustNew is New for constants.
func MustNew(lo, hi, den uint64) Segment {
	s, err := New(lo, hi, den)
	if err != nil {
		panic(err)
	}
	return s
}

// Parse reads "INDEX/COUNT" (0-based index: "2/3" is the last third).
func Parse(s string) (Segment, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Segment{}, errors.New("segment: want INDEX/COUNT such as 0/3")
	}
	return Of(i, n)
}

// String writes the segment as (lo/den, hi/den].
func (s Segment) String() string { return fmt.Sprintf("(%d/%d, %d/%d]", s.Lo, s.Den, s.Hi, s.Den) }

// IsWhole reports whether the segment is all of the work.
func (s Segment) IsWhole() bool { return s.Den == 0 || s.Lo == 0 && s.Hi == s.Den }

// round returns round(v·num/den), halves up.
func round(v, num, den uint64) uint64 { return (2*v*num + den) / (2 * den) }

// Scale returns the segment's share of v: round(v·To) − round(v·From).
func (s Segment) Scale(v uint64) uint64 {
	if s.IsWhole() {
		return v
	}
	return round(v, s.Hi, s.Den) - round(v, s.Lo, s.Den)
}

// ScaleInt is Scale for an int count.
func (s Segment) ScaleInt(v int) int { return int(s.Scale(uint64(v))) }

// ScaleFloat scales a rate: v·(To − From).
func (s Segment) ScaleFloat(v float64) float64 {
	if s.IsWhole() {
		return v
	}
	return v * float64(s.Hi-s.Lo) / float64(s.Den)
}

// Ops returns how many of the global indices 1…v the segment owns: its
// share of a bound on operations such as stop.max_ops.
func (s Segment) Ops(v uint64) uint64 {
	if s.IsWhole() {
		return v
	}
	n := v / s.Den * (s.Hi - s.Lo)
	if r := v % s.Den; r > s.Lo {
		n += min(r, s.Hi) - s.Lo
	}
	return n
}

// Global returns the global index (1-based) of the segment's j-th
// operation (1-based). Within every period of Den global indices the
// segment owns Hi−Lo of them, at the same positions.
func (s Segment) Global(j uint64) uint64 {
	if s.IsWhole() || j == 0 {
		return j
	}
	per := uint64(len(s.offsets))
	return (j-1)/per*s.Den + s.offsets[(j-1)%per]
}

// Scenario returns the segment's share of sc: load.workers (at least
// one), load.rate and the stages' rates, stop.max_ops (the global indices
// the segment owns up to it) and the kind's counts (scenarios.ScaleKind)
// scaled; everything else, the seed included, is the same. sc is not
// changed.
func Scenario(sc *scenarios.Scenario, s Segment) *scenarios.Scenario {
	out := *sc
	if s.IsWhole() {
		return &out
	}
	out.Load.Workers = max(s.ScaleInt(sc.Load.Workers), 1)
	out.Load.Rate = s.ScaleFloat(sc.Load.Rate)
	out.Load.Stages = nil
	for _, st := range sc.Load.Stages {
		out.Load.Stages = append(out.Load.Stages, scenarios.Stage{Duration: st.Duration, Target: s.ScaleFloat(st.Target)})
	}
	out.Stop.MaxOps = s.Ops(sc.Stop.MaxOps)
	scenarios.ScaleKind(&out, s.ScaleInt)
	return &out
}
