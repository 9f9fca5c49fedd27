package workers

import (
	"math"
	"math/rand/v2"
	"time"
)

// Pacer decides when the next arrival is due. elapsed is time since the run started, hits the number of
// arrivals already issued. It returns how long to wait before issuing the next one, and stop=true when the
// pacer has no more arrivals (its last stage ended).
//
// Pacers never start goroutines and never read the clock: the answer depends only on the arguments (and,
// for PoissonPacer, on its random draw state). The n-th arrival (n = hits+1) is due when the expected
// number of arrivals reaches n, so the first arrival is not issued at elapsed 0 but one "gap" later.
type Pacer interface {
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
}

// Stage is one piece of a rate schedule: over Duration the rate moves linearly from the previous stage's
// Target (or the start rate) to this Target (arrivals per second).
//
// A stage with Duration 0 contributes no arrivals; it only makes the rate jump to Target, which gives
// step changes (for example a pause: {0, 0}, {5 * time.Second, 0}, {0, 100}).
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Compile-time checks that every pacer satisfies Pacer.
var (
	_ Pacer = ConstantPacer{}
	_ Pacer = RampPacer{}
	_ Pacer = (*PoissonPacer)(nil)
)

// maxDurationSeconds is the largest number of seconds that converts to a time.Duration without overflow.
// The float64 nearest to MaxInt64 nanoseconds is 2^63 ns itself, so compare with >= against it.
const maxDurationSeconds = float64(math.MaxInt64) / 1e9

// satAdd returns a+b, saturating at the largest and smallest time.Duration.
func satAdd(a, b time.Duration) time.Duration {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// secondsToDuration converts seconds to a Duration rounded to the nearest nanosecond.
// ok is false when s is NaN or does not fit in a Duration.
func secondsToDuration(s float64) (d time.Duration, ok bool) {
	if math.IsNaN(s) || s >= maxDurationSeconds || s <= -maxDurationSeconds {
		return 0, false
	}
	return time.Duration(math.Round(s * 1e9)), true
}

// validRate reports whether r is usable as an arrival rate in a schedule: finite and not negative.
func validRate(r float64) bool {
	return r >= 0 && !math.IsInf(r, 0) // NaN fails r >= 0
}

// ConstantPacer issues Rate arrivals per second forever (Rate must be > 0).
//
// Arrival n (n = hits+1) is due at n/Rate seconds. A Rate <= 0 or NaN stops at once; +Inf means no wait
// at all. If the due time no longer fits in a time.Duration (about 292 years), Pace reports stop.
type ConstantPacer struct {
	Rate float64
}

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if !(p.Rate > 0) { // also catches NaN
		return 0, true
	}
	due, ok := secondsToDuration((float64(hits) + 1) / p.Rate)
	if !ok {
		return 0, true
	}
	if due <= elapsed {
		return 0, false // behind schedule (or exactly on time): issue now
	}
	return due - elapsed, false
}

// ExpectedHits returns how many arrivals the pacer should have issued by elapsed: Rate × elapsed
// (0 for a negative elapsed or an invalid Rate).
func (p ConstantPacer) ExpectedHits(elapsed time.Duration) float64 {
	if !(p.Rate > 0) || elapsed <= 0 {
		return 0
	}
	return p.Rate * elapsed.Seconds()
}

// RampPacer starts at Start arrivals/s and follows Stages; after the last stage it stops (stop=true).
//
// Hits expected by time t is the integral of the piecewise-linear rate; the next arrival is due when that
// integral reaches hits+1. It is solved exactly per segment (quadratic for a sloped segment, linear for a
// flat one). A segment with rate 0 throughout contributes no arrivals. If the arrivals are behind schedule,
// wait is 0.
//
// Pace stops when the next arrival would fall after the end of the last stage. Arrivals still owed when
// elapsed is already past the end are issued at once (wait 0), so a schedule always issues
// floor(integral) arrivals in all, however late its caller wakes up. A pacer whose Start or any
// Target is negative, NaN or infinite, or whose any stage Duration is negative, is invalid: Pace stops at
// once and ExpectedHits is 0. A pacer without stages stops at once.
//
// RampPacer holds no state, so one value may be shared by goroutines. Pace costs O(len(Stages)).
type RampPacer struct {
	Start  float64
	Stages []Stage
}

// valid reports whether all rates are finite and non-negative and all durations non-negative.
func (p RampPacer) valid() bool {
	if !validRate(p.Start) {
		return false
	}
	for _, s := range p.Stages {
		if s.Duration < 0 || !validRate(s.Target) {
			return false
		}
	}
	return true
}

// Duration of a RampPacer is the sum of its stage durations (saturating instead of overflowing).
func (p RampPacer) Duration() time.Duration {
	var total time.Duration
	for _, s := range p.Stages {
		total = satAdd(total, s.Duration)
	}
	return total
}

// segmentHits is the integral over [0, s] seconds of a rate going linearly from r0 to r1 over d seconds.
func segmentHits(r0, r1, d, s float64) float64 {
	if d <= 0 || s <= 0 {
		return 0
	}
	if s >= d {
		return (r0 + r1) / 2 * d
	}
	return r0*s + (r1-r0)*s*s/(2*d)
}

// solveSegment returns the s in [0, d] seconds at which the integral of a rate going linearly from r0 to r1
// over d seconds reaches need (0 < need <= the segment's hits).
func solveSegment(r0, r1, d, need float64) float64 {
	var s float64
	if r0 == r1 {
		s = need / r0 // flat: r0 > 0, since a segment with hits has a non-zero rate
	} else {
		// r0·s + a·s²/2 = need with a = (r1-r0)/d. The root in [0, d] is (-r0 + √(r0² + 2a·need)) / a;
		// the equivalent form 2·need / (r0 + √(r0² + 2a·need)) does not cancel when a is small or
		// negative. The denominator is > 0: r0 = 0 forces a > 0 (the segment has hits).
		a := (r1 - r0) / d
		disc := r0*r0 + 2*a*need
		if disc < 0 {
			disc = 0 // rounding: need was at most the segment's hits, so disc >= r1² >= 0
		}
		s = 2 * need / (r0 + math.Sqrt(disc))
	}
	if s > d || math.IsNaN(s) {
		s = d
	}
	if s < 0 {
		s = 0
	}
	return s
}

// Pace implements Pacer.
func (p RampPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	// Arrivals still owed when elapsed is past the end are issued late
	// (wait 0): the schedule promises floor(integral) arrivals in all.
	if !p.valid() {
		return 0, true
	}
	target := float64(hits) + 1
	var (
		start time.Duration // start of the current segment
		cum   float64       // arrivals expected before the current segment
		r0    = p.Start
	)
	for _, st := range p.Stages {
		d := st.Duration.Seconds()
		h := segmentHits(r0, st.Target, d, d)
		if h > 0 { // a segment with rate 0 throughout (or Duration 0) has no arrivals: skip it
			need := target - cum
			// Tolerate rounding in the running sum, so that an arrival due exactly at a segment end
			// (e.g. the last one of the schedule) is not lost.
			if need <= h+1e-12*math.Max(1, cum+h) {
				s := solveSegment(r0, st.Target, d, math.Min(need, h))
				off, _ := secondsToDuration(s) // s <= d, which came from a Duration: fits
				if off > st.Duration {
					off = st.Duration
				}
				due := satAdd(start, off)
				if due <= elapsed {
					return 0, false // behind schedule: issue now
				}
				return due - elapsed, false
			}
			cum += h
		}
		start = satAdd(start, st.Duration)
		r0 = st.Target
	}
	return 0, true // the next arrival falls after the last stage
}

// ExpectedHits returns how many arrivals a pacer following Start/Stages should have issued by elapsed:
// the integral of the rate from 0 to elapsed (constant after the last stage, 0 for elapsed <= 0 or an
// invalid pacer).
func (p RampPacer) ExpectedHits(elapsed time.Duration) float64 {
	if elapsed <= 0 || !p.valid() {
		return 0
	}
	var (
		start time.Duration
		cum   float64
		r0    = p.Start
	)
	for _, st := range p.Stages {
		if elapsed-start <= st.Duration { // elapsed - start > 0 and fits: both are within [0, MaxInt64]
			return cum + segmentHits(r0, st.Target, st.Duration.Seconds(), (elapsed-start).Seconds())
		}
		cum += segmentHits(r0, st.Target, st.Duration.Seconds(), st.Duration.Seconds())
		start += st.Duration
		r0 = st.Target
	}
	return cum
}

// poissonStreamConst is XORed into the seed to form the second PCG word.
const poissonStreamConst = 0x9e3779b97f4a7c15

// PoissonPacer issues arrivals at mean Rate per second with exponentially distributed gaps, deterministic
// for a Seed. It is not safe for concurrent use (one scheduler goroutine calls it).
//
// It keeps the absolute due time of the next arrival: wait = due - elapsed (0 if negative), and each
// increase of hits draws one gap per new arrival. The due time of arrival n therefore depends only on
// (Rate, Seed, n), whatever the pattern of calls; if hits goes down (a pacer reused for a new run), the
// draws are replayed from the seed. A jump of hits by k costs k draws (about 10 ns each). A rate <= 0 or NaN stops at once; +Inf never waits. When the due time
// no longer fits in a time.Duration, Pace reports stop.
type PoissonPacer struct {
	rate      float64
	seed      uint64
	rng       *rand.Rand
	hits      uint64        // the arrival count that due belongs to
	due       time.Duration // absolute due time of arrival hits+1
	exhausted bool          // due overflowed time.Duration
}

// NewPoissonPacer returns a PoissonPacer with mean rate arrivals per second whose gaps are drawn from
// rand.NewPCG(seed, seed^0x9e3779b97f4a7c15).
func NewPoissonPacer(rate float64, seed uint64) *PoissonPacer {
	p := &PoissonPacer{rate: rate, seed: seed}
	p.reset()
	return p
}

// reset rewinds the draws to the seed and schedules the first arrival.
func (p *PoissonPacer) reset() {
	p.rng = rand.New(rand.NewPCG(p.seed, p.seed^poissonStreamConst))
	p.hits, p.due, p.exhausted = 0, 0, false
	p.advance()
}

// advance adds one exponential gap to due.
func (p *PoissonPacer) advance() {
	if p.exhausted || !(p.rate > 0) {
		return
	}
	gap, ok := secondsToDuration(p.rng.ExpFloat64() / p.rate)
	if !ok || gap > math.MaxInt64-p.due {
		p.exhausted = true
		return
	}
	p.due += gap
}

// Pace implements Pacer.
func (p *PoissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if !(p.rate > 0) {
		return 0, true
	}
	if hits < p.hits {
		p.reset()
	}
	for p.hits < hits && !p.exhausted {
		p.advance()
		p.hits++
	}
	if p.exhausted {
		return 0, true
	}
	if p.due <= elapsed {
		return 0, false // behind schedule: issue now
	}
	return p.due - elapsed, false
}
