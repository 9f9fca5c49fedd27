package workers

import (
	"math"
	"testing"
	"time"
)

// pacerTol is the tolerance of float comparisons.
const pacerTol = 1e-6

// pacerClose reports whether got is within pacerTol of want.
func pacerClose(got, want float64) bool { return math.Abs(got-want) <= pacerTol }

// sec converts seconds to a Duration (for readable tables).
func pacerSec(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// pacerDurClose reports whether got is within 1ns of want seconds (the pacers round due times to the nanosecond).
func pacerDurClose(got time.Duration, want float64) bool {
	return math.Abs(float64(got)-want*1e9) <= 1
}

// simulatePacer drives p the way a scheduler would, but without sleeping: elapsed jumps by the returned wait and
// each arrival is issued at once. It returns the issue time of every arrival, until p stops.
func simulatePacer(t *testing.T, p Pacer, limit int) []time.Duration {
	t.Helper()
	var (
		elapsed time.Duration
		times   []time.Duration
	)
	for {
		wait, stop := p.Pace(elapsed, uint64(len(times)))
		if stop {
			return times
		}
		if wait < 0 {
			t.Fatalf("Pace(%v, %d) wait = %v, want >= 0", elapsed, len(times), wait)
		}
		elapsed += wait
		times = append(times, elapsed)
		if len(times) > limit {
			t.Fatalf("pacer did not stop after %d arrivals", limit)
		}
	}
}

func TestConstantPacerPace(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		elapsed  time.Duration
		hits     uint64
		wantWait time.Duration
		wantStop bool
	}{
		// The first arrival comes one gap (1/rate) after the start, not at once.
		{"first arrival", 10, 0, 0, 100 * time.Millisecond, false},
		// Right after arrival 1 (at 100ms), arrival 2 is one gap later.
		{"on schedule", 10, 100 * time.Millisecond, 1, 100 * time.Millisecond, false},
		// Called mid-gap, only the rest of the gap is waited.
		{"mid gap", 10, 130 * time.Millisecond, 1, 70 * time.Millisecond, false},
		// Ahead of schedule (5 arrivals issued at 0): wait until arrival 6 is due at 600ms.
		{"ahead of schedule", 10, 0, 5, 600 * time.Millisecond, false},
		// Behind schedule (3 issued by 1s, 10 due): issue now.
		{"behind schedule", 10, time.Second, 3, 0, false},
		// Exactly when arrival 2 is due: issue now.
		{"exactly due", 10, 200 * time.Millisecond, 1, 0, false},
		// A fractional rate: one arrival every 2s.
		{"half per second", 0.5, 0, 0, 2 * time.Second, false},
		// A gap that is not a whole number of nanoseconds is rounded to the nearest one.
		{"thirds", 3, 0, 1, 666666667, false},
		// An infinite rate never waits.
		{"infinite rate", math.Inf(1), 0, 1000, 0, false},
		// A zero rate has no arrivals: stop.
		{"zero rate", 0, 0, 0, 0, true},
		// A negative rate is invalid: stop.
		{"negative rate", -5, 0, 0, 0, true},
		// A NaN rate is invalid: stop.
		{"NaN rate", math.NaN(), 0, 0, 0, true},
		// The next arrival (1e12 s away) does not fit in a Duration: stop.
		{"due time overflows", 1e-9, 0, 999, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, stop := ConstantPacer{Rate: tc.rate}.Pace(tc.elapsed, tc.hits)
			if wait != tc.wantWait || stop != tc.wantStop {
				t.Errorf("Pace(%v, %d) = (%v, %v), want (%v, %v)", tc.elapsed, tc.hits, wait, stop, tc.wantWait, tc.wantStop)
			}
		})
	}
}

func TestConstantPacerSpacing(t *testing.T) {
	tests := []struct {
		name string
		rate float64
	}{
		// One arrival per second.
		{"1/s", 1},
		// A gap that is not a whole number of nanoseconds.
		{"7/s", 7},
		// A fast rate.
		{"1000/s", 1000},
		// A fractional rate.
		{"33.3/s", 33.3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ConstantPacer{Rate: tc.rate}
			var elapsed time.Duration
			for hits := uint64(0); hits < 1000; hits++ {
				wait, stop := p.Pace(elapsed, hits)
				if stop {
					t.Fatalf("Pace(%v, %d) stopped", elapsed, hits)
				}
				if got, want := wait.Seconds(), 1/tc.rate; !pacerClose(got, want) {
					t.Fatalf("gap before arrival %d: got %v s, want %v s", hits+1, got, want)
				}
				elapsed += wait
				// No drift: arrival n is issued at n/rate.
				if got, want := elapsed.Seconds(), float64(hits+1)/tc.rate; !pacerClose(got, want) {
					t.Fatalf("arrival %d at %v s, want %v s", hits+1, got, want)
				}
			}
		})
	}
}

func TestConstantPacerExpectedHits(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		elapsed time.Duration
		want    float64
	}{
		// Rate × elapsed.
		{"2.5s at 10/s", 10, 2500 * time.Millisecond, 25},
		// Nothing at the start.
		{"start", 10, 0, 0},
		// Nothing before the start.
		{"negative elapsed", 10, -time.Second, 0},
		// An invalid rate expects nothing.
		{"zero rate", 0, time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (ConstantPacer{Rate: tc.rate}).ExpectedHits(tc.elapsed); !pacerClose(got, tc.want) {
				t.Errorf("ExpectedHits(%v): got %v, want %v", tc.elapsed, got, tc.want)
			}
		})
	}
}

// Schedules shared by the ramp tests.
var (
	// 0 → 100/s over 10s: 500 arrivals.
	rampUp = RampPacer{Start: 0, Stages: []Stage{{10 * time.Second, 100}}}
	// 100/s → 0 over 10s: 500 arrivals.
	rampDown = RampPacer{Start: 100, Stages: []Stage{{10 * time.Second, 0}}}
	// 0 → 100/s over 5s, 100/s for 10s, 100/s → 0 over 5s: 250 + 1000 + 250 arrivals.
	upFlatDown = RampPacer{Start: 0, Stages: []Stage{{5 * time.Second, 100}, {10 * time.Second, 100}, {5 * time.Second, 0}}}
	// 10/s for 2s, a step to 0 for 3s, a step back to 10/s for 2s: 20 + 0 + 20 arrivals.
	rampPause = RampPacer{Start: 10, Stages: []Stage{{2 * time.Second, 10}, {0, 0}, {3 * time.Second, 0}, {0, 10}, {2 * time.Second, 10}}}
	// 50/s → 0 over 1s, 0 for 2s, 0 → 50/s over 1s: 25 + 0 + 25 arrivals.
	throughZero = RampPacer{Start: 50, Stages: []Stage{{time.Second, 0}, {2 * time.Second, 0}, {time.Second, 50}}}
	// 10/s for 2s then 10 → 30/s over 2s: 20 + 40 arrivals.
	flatThenUp = RampPacer{Start: 10, Stages: []Stage{{2 * time.Second, 10}, {2 * time.Second, 30}}}
	// 0.1/s for 10s as ten 1s stages: 1 arrival, due at the very end.
	tenths = RampPacer{Start: 0.1, Stages: []Stage{
		{time.Second, 0.1}, {time.Second, 0.1}, {time.Second, 0.1}, {time.Second, 0.1}, {time.Second, 0.1},
		{time.Second, 0.1}, {time.Second, 0.1}, {time.Second, 0.1}, {time.Second, 0.1}, {time.Second, 0.1},
	}}
)

func TestRampPacerSimulated(t *testing.T) {
	tests := []struct {
		name  string
		p     RampPacer
		want  float64          // the integral of the rate over the whole schedule
		quiet [2]time.Duration // no arrival strictly inside this window (zero: none checked)
	}{
		// The brief's example: 0 → 100/s over 10s issues ~500 arrivals in 10s.
		{"ramp 0 to 100/s over 10s", rampUp, 500, [2]time.Duration{}},
		// Ramp down to zero: the last arrival falls exactly at the end.
		{"ramp 100/s to 0 over 10s", rampDown, 500, [2]time.Duration{}},
		// Ramp up, hold, ramp down.
		{"up, flat, down", upFlatDown, 1500, [2]time.Duration{}},
		// A zero-rate stage pauses arrivals between 2s and 5s.
		{"zero-rate stage pauses", rampPause, 40, [2]time.Duration{2 * time.Second, 5 * time.Second}},
		// The rate reaches 0, stays there, and comes back: no arrivals between 1s and 3s.
		{"ramp through zero", throughZero, 50, [2]time.Duration{time.Second, 3 * time.Second}},
		// A non-integer total (10.5): 10 arrivals, none owed after the end.
		{"non-integer total", RampPacer{Start: 0, Stages: []Stage{{3 * time.Second, 7}}}, 10.5, [2]time.Duration{}},
		// A rate below 1/s: one arrival every 2s.
		{"slow flat", RampPacer{Start: 0.5, Stages: []Stage{{10 * time.Second, 0.5}}}, 5, [2]time.Duration{}},
		// A fast, short ramp.
		{"fast ramp down", RampPacer{Start: 1000, Stages: []Stage{{time.Second, 0}}}, 500, [2]time.Duration{}},
		// Ten stages of 0.1 arrivals: the float sum is 0.9999999999999999, yet the one arrival is issued.
		{"inexact running sum", tenths, 1, [2]time.Duration{}},
		// A step up through a zero-duration stage.
		{"step up", RampPacer{Start: 10, Stages: []Stage{{time.Second, 10}, {0, 100}, {time.Second, 100}}}, 110, [2]time.Duration{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end := tc.p.Duration()
			if got := tc.p.ExpectedHits(end); !pacerClose(got, tc.want) {
				t.Errorf("ExpectedHits(%v): got %v, want %v", end, got, tc.want)
			}
			times := simulatePacer(t, tc.p, 1_000_000)
			if got, want := float64(len(times)), tc.want; math.Abs(got-want) > 1 {
				t.Errorf("arrivals until stop: got %v, want %v ± 1", got, want)
			}
			// In fact exactly the whole arrivals the schedule owes.
			if got, want := len(times), int(math.Floor(tc.want+pacerTol)); got != want {
				t.Errorf("arrivals until stop: got %d, want exactly %d", got, want)
			}
			var prev time.Duration
			for i, at := range times {
				if at < prev || at > end {
					t.Fatalf("arrival %d at %v: got out of order or past the end %v (previous %v)", i+1, at, end, prev)
				}
				prev = at
				// Arrival n is issued when the integral reaches n.
				if got, want := tc.p.ExpectedHits(at), float64(i+1); !pacerClose(got, want) {
					t.Fatalf("ExpectedHits at arrival %d (%v): got %v, want %v", i+1, at, got, want)
				}
				if tc.quiet[1] > 0 && at > tc.quiet[0] && at < tc.quiet[1] {
					t.Fatalf("arrival %d at %v: got one inside the pause %v–%v, want none", i+1, at, tc.quiet[0], tc.quiet[1])
				}
			}
		})
	}
}

func TestRampPacerPace(t *testing.T) {
	tests := []struct {
		name     string
		p        RampPacer
		elapsed  time.Duration
		hits     uint64
		wantWait float64 // seconds
		wantStop bool
	}{
		// From rate 0 the integral 5t² reaches 1 at √0.2 s.
		{"ramp first arrival", rampUp, 0, 0, math.Sqrt(0.2), false},
		// Arrival 125 is due when 5t² = 125: at 5s.
		{"ramp mid", rampUp, 0, 124, 5, false},
		// The same arrival asked for at 2s: 3s more.
		{"ramp mid, later call", rampUp, 2 * time.Second, 124, 3, false},
		// Behind schedule (10 issued at 5s, 125 due): issue now.
		{"ramp behind", rampUp, 5 * time.Second, 10, 0, false},
		// The last arrival (500) is due exactly at the end, 10s.
		{"ramp last arrival", rampUp, 9 * time.Second, 499, 1, false},
		// Called exactly at the end with the last arrival owed: issue it now.
		{"ramp last arrival at the end", rampUp, 10 * time.Second, 499, 0, false},
		// All 500 issued: the last stage has no more arrivals, stop.
		{"ramp all issued", rampUp, 9990 * time.Millisecond, 500, 0, true},
		// Past the end with arrivals owed: issue them now (the open model then runs or drops each).
		{"ramp past the end", rampUp, 10*time.Second + 1, 100, 0, false},
		// Past the end with none owed: stop.
		{"ramp past the end, all issued", rampUp, 10*time.Second + 1, 500, 0, true},
		// Down from 100/s: 100t − 5t² = 1.
		{"ramp down first arrival", rampDown, 0, 0, (100 - math.Sqrt(9980)) / 10, false},
		// Down to 0: the last arrival is due exactly at the end.
		{"ramp down last arrival", rampDown, 0, 499, 10, false},
		// Arrival 20 ends the flat stage at 2s.
		{"flat stage end", flatThenUp, 0, 19, 2, false},
		// Arrival 21 is in the sloped stage: 10s + 5s² = 1.
		{"into the sloped stage", flatThenUp, 2 * time.Second, 20, (-10 + math.Sqrt(120)) / 10, false},
		// Rate 0 from 2s to 5s: arrival 21 comes at 5.1s.
		{"pause skipped", rampPause, 2 * time.Second, 20, 3.1, false},
		// The same, asked for in the middle of the pause.
		{"inside the pause", rampPause, 3 * time.Second, 20, 2.1, false},
		// Rate 0 from 1s to 3s, then 25s² = 1 from 3s: arrival 26 at 3.2s.
		{"through zero", throughZero, time.Second, 25, 2.2, false},
		// The arrival due exactly at the end survives rounding in the running sum.
		{"inexact running sum", tenths, 0, 0, 10, false},
		// A zero-duration stage steps the rate to 100/s at once.
		{"step at start", RampPacer{Start: 10, Stages: []Stage{{0, 100}, {time.Second, 100}}}, 0, 0, 0.01, false},
		// No stages: nothing to issue.
		{"no stages", RampPacer{Start: 10}, 0, 0, 0, true},
		// Rate 0 throughout: no arrivals at all.
		{"all zero", RampPacer{Start: 0, Stages: []Stage{{5 * time.Second, 0}}}, 0, 0, 0, true},
		// A hit count far beyond the schedule: stop.
		{"huge hits", upFlatDown, 0, math.MaxUint64, 0, true},
		// Invalid: NaN start rate.
		{"NaN start", RampPacer{Start: math.NaN(), Stages: []Stage{{time.Second, 1}}}, 0, 0, 0, true},
		// Invalid: negative target.
		{"negative target", RampPacer{Start: 1, Stages: []Stage{{time.Second, -1}}}, 0, 0, 0, true},
		// Invalid: infinite target.
		{"infinite target", RampPacer{Start: 1, Stages: []Stage{{time.Second, math.Inf(1)}}}, 0, 0, 0, true},
		// Invalid: negative duration.
		{"negative duration", RampPacer{Start: 1, Stages: []Stage{{-time.Second, 1}, {2 * time.Second, 1}}}, 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, stop := tc.p.Pace(tc.elapsed, tc.hits)
			if stop != tc.wantStop || !pacerDurClose(wait, tc.wantWait) {
				t.Errorf("Pace(%v, %d): got (%v, %v), want (%vs, %v)", tc.elapsed, tc.hits, wait, stop, tc.wantWait, tc.wantStop)
			}
		})
	}
}

func TestRampPacerExpectedHits(t *testing.T) {
	tests := []struct {
		name    string
		p       RampPacer
		elapsed time.Duration
		want    float64
	}{
		// Nothing before the start.
		{"before start", rampUp, -time.Second, 0},
		// Nothing at the start.
		{"start", rampUp, 0, 0},
		// 5t² at 1s.
		{"ramp 1s", rampUp, time.Second, 5},
		// 5t² at 5s.
		{"ramp 5s", rampUp, 5 * time.Second, 125},
		// The whole ramp.
		{"ramp end", rampUp, 10 * time.Second, 500},
		// Constant after the end.
		{"ramp after end", rampUp, time.Hour, 500},
		// 100t − 5t² at 1s.
		{"ramp down 1s", rampDown, time.Second, 95},
		// 250 from the ramp up plus 2.5s at 100/s.
		{"inside the flat stage", upFlatDown, 7500 * time.Millisecond, 500},
		// 1250, then 100t − 10t² for 2.5s down.
		{"inside the ramp down", upFlatDown, 17500 * time.Millisecond, 1437.5},
		// The pause adds nothing.
		{"inside the pause", rampPause, 4 * time.Second, 20},
		// 1s after the pause at 10/s.
		{"after the pause", rampPause, 6 * time.Second, 30},
		// 10/s for 2s, then 10t + 5t² for 1s.
		{"flat then up", flatThenUp, 3 * time.Second, 35},
		// No stages: nothing.
		{"no stages", RampPacer{Start: 10}, time.Second, 0},
		// An invalid pacer expects nothing.
		{"invalid", RampPacer{Start: -1, Stages: []Stage{{time.Second, 1}}}, time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.ExpectedHits(tc.elapsed); !pacerClose(got, tc.want) {
				t.Errorf("ExpectedHits(%v): got %v, want %v", tc.elapsed, got, tc.want)
			}
		})
	}
}

// TestRampPacerExpectedHitsIntegral checks ExpectedHits against a numeric integral of the rate, computed
// independently with Simpson's rule (exact for a linear rate on each piece).
func TestRampPacerExpectedHitsIntegral(t *testing.T) {
	p := RampPacer{Start: 3, Stages: []Stage{
		{1500 * time.Millisecond, 40}, {0, 7}, {2 * time.Second, 7}, {700 * time.Millisecond, 0}, {time.Second, 0}, {1300 * time.Millisecond, 25},
	}}
	// rate returns the scheduled rate at t seconds (the later stage's rate at a step, 0 after the end).
	rate := func(t float64) float64 {
		var start float64
		r0 := p.Start
		for _, st := range p.Stages {
			d := st.Duration.Seconds()
			if t < start+d {
				return r0 + (st.Target-r0)*(t-start)/d
			}
			start += d
			r0 = st.Target
		}
		return 0 // the schedule is over
	}
	const step = 0.01 // every stage boundary is a multiple of step
	var integral float64
	for i := 0; i <= 700; i++ {
		at := float64(i) * step
		if got, want := p.ExpectedHits(pacerSec(at)), integral; !pacerClose(got, want) {
			t.Fatalf("ExpectedHits(%vs): got %v, want %v", at, got, want)
		}
		integral += step / 6 * (rate(at) + 4*rate(at+step/2) + rate(at+step-1e-12))
	}
}

func TestRampPacerDuration(t *testing.T) {
	tests := []struct {
		name string
		p    RampPacer
		want time.Duration
	}{
		// No stages: zero.
		{"no stages", RampPacer{Start: 1}, 0},
		// The sum of the stage durations, zero-duration steps included.
		{"sum", upFlatDown, 20 * time.Second},
		// Steps add nothing.
		{"with steps", rampPause, 7 * time.Second},
		// A sum that would overflow saturates.
		{"saturates", RampPacer{Stages: []Stage{{math.MaxInt64, 1}, {time.Second, 1}}}, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Duration(); got != tc.want {
				t.Errorf("Duration(): got %v, want %v", got, tc.want)
			}
		})
	}
}

// poissonDues returns the due times of the first n arrivals of a Poisson pacer driven by simulatePacer's rule.
func poissonDues(t *testing.T, rate float64, seed uint64, n int) []time.Duration {
	t.Helper()
	p := NewPoissonPacer(rate, seed)
	var elapsed time.Duration
	dues := make([]time.Duration, 0, n)
	for hits := uint64(0); len(dues) < n; hits++ {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			t.Fatalf("Pace(%v, %d) stopped", elapsed, hits)
		}
		elapsed += wait
		dues = append(dues, elapsed)
	}
	return dues
}

func TestPoissonPacerGaps(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		seed uint64
	}{
		// A moderate rate.
		{"50/s", 50, 1},
		// A fast rate (gaps of ~1ms).
		{"1000/s", 1000, 2},
		// A slow rate (gaps of ~2s).
		{"0.5/s", 0.5, 3},
	}
	const n = 20000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dues := poissonDues(t, tc.rate, tc.seed, n)
			var sum, sumSq float64
			var prev time.Duration
			for _, d := range dues {
				gap := (d - prev).Seconds()
				if gap < 0 {
					t.Fatalf("negative gap %v", gap)
				}
				sum += gap
				sumSq += gap * gap
				prev = d
			}
			mean := sum / n
			// The mean gap is 1/rate, within 5%.
			if got, want := mean, 1/tc.rate; math.Abs(got-want) > 0.05*want {
				t.Errorf("mean gap: got %v s, want %v s ± 5%%", got, want)
			}
			// Exponential gaps: the standard deviation equals the mean, within 5%.
			if got, want := math.Sqrt(sumSq/n-mean*mean), 1/tc.rate; math.Abs(got-want) > 0.05*want {
				t.Errorf("gap standard deviation: got %v s, want %v s ± 5%%", got, want)
			}
		})
	}
}

func TestPoissonPacerDeterministic(t *testing.T) {
	const n = 1000
	base := poissonDues(t, 100, 42, n)
	tests := []struct {
		name     string
		seed     uint64
		wantSame bool
	}{
		// The same seed gives the same sequence.
		{"same seed", 42, true},
		// Another seed gives another sequence.
		{"different seed", 43, false},
		// Seed 0 is a seed like any other.
		{"seed 0", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := poissonDues(t, 100, tc.seed, n)
			same := true
			for i := range base {
				if base[i] != other[i] {
					same = false
					break
				}
			}
			if got, want := same, tc.wantSame; got != want {
				t.Errorf("sequence equal to seed 42's: got %v, want %v", got, want)
			}
		})
	}
}

// TestPoissonPacerCallPattern checks that the due time of arrival n depends only on (rate, seed, n): not on
// how often Pace is called, whether hits jumps, or whether the pacer is reused from hits 0.
func TestPoissonPacerCallPattern(t *testing.T) {
	const n = 200
	want := poissonDues(t, 100, 7, n)
	p := NewPoissonPacer(100, 7)
	// dueOf returns the absolute due time of arrival hits+1 as seen at elapsed.
	dueOf := func(elapsed time.Duration, hits uint64) time.Duration {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			t.Fatalf("Pace(%v, %d) stopped", elapsed, hits)
		}
		if wait == 0 {
			t.Fatalf("Pace(%v, %d): got no wait, want a wait (called before the due time)", elapsed, hits)
		}
		return elapsed + wait
	}
	tests := []struct {
		name string
		hits []uint64 // the hit counts Pace is called with, in order
	}{
		// Each count asked several times: repeated calls draw nothing.
		{"repeated calls", []uint64{0, 0, 0, 1, 1, 2, 2, 2}},
		// Hits jumping ahead: skipped arrivals still draw their gaps.
		{"jumps", []uint64{5, 9, 50, 199}},
		// Hits going back: the pacer replays from the seed.
		{"reset", []uint64{150, 0, 3, 100, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range tc.hits {
				var elapsed time.Duration
				if h > 0 {
					elapsed = want[h-1] // just after arrival h was issued
				}
				if got := dueOf(elapsed, h); got != want[h] {
					t.Fatalf("due time of arrival %d: got %v, want %v", h+1, got, want[h])
				}
			}
		})
	}
}

func TestPoissonPacerPace(t *testing.T) {
	first, _ := NewPoissonPacer(10, 5).Pace(0, 0)
	if first <= 0 {
		t.Fatalf("first wait: got %v, want > 0", first)
	}
	tests := []struct {
		name     string
		rate     float64
		seed     uint64
		elapsed  time.Duration
		hits     uint64
		wantWait time.Duration
		wantStop bool
	}{
		// The wait is due − elapsed: half way to the first arrival, half the wait is left.
		{"part of the wait", 10, 5, first / 2, 0, first - first/2, false},
		// Behind schedule (the first arrival was due long ago): issue now.
		{"behind schedule", 10, 5, time.Hour, 0, 0, false},
		// An infinite rate never waits.
		{"infinite rate", math.Inf(1), 5, 0, 10, 0, false},
		// A zero rate has no arrivals: stop.
		{"zero rate", 0, 5, 0, 0, 0, true},
		// A negative rate is invalid: stop.
		{"negative rate", -1, 5, 0, 0, 0, true},
		// A NaN rate is invalid: stop.
		{"NaN rate", math.NaN(), 5, 0, 0, 0, true},
		// Gaps of ~1e15 s do not fit in a Duration: stop.
		{"due time overflows", 1e-15, 5, 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, stop := NewPoissonPacer(tc.rate, tc.seed).Pace(tc.elapsed, tc.hits)
			if wait != tc.wantWait || stop != tc.wantStop {
				t.Errorf("Pace(%v, %d): got (%v, %v), want (%v, %v)", tc.elapsed, tc.hits, wait, stop, tc.wantWait, tc.wantStop)
			}
		})
	}
	// The zero value has no rate: it stops instead of panicking.
	if wait, stop := new(PoissonPacer).Pace(0, 0); wait != 0 || !stop {
		t.Errorf("zero PoissonPacer Pace(0, 0): got (%v, %v), want (0s, true)", wait, stop)
	}
}

// benchRamp is a multi-stage schedule (ramps, a hold, a pause and steps) of 3,750 arrivals.
var benchRamp = RampPacer{Start: 0, Stages: []Stage{
	{10 * time.Second, 100}, {10 * time.Second, 100}, {0, 0}, {5 * time.Second, 0}, {0, 50}, {10 * time.Second, 200}, {10 * time.Second, 0},
}}

// BenchmarkRampPacer measures one Pace call on a multi-stage ramp, walking through the whole schedule.
func BenchmarkRampPacer(b *testing.B) {
	b.ReportAllocs()
	var (
		elapsed time.Duration
		hits    uint64
	)
	for b.Loop() {
		wait, stop := benchRamp.Pace(elapsed, hits)
		if stop {
			elapsed, hits = 0, 0
			continue
		}
		elapsed += wait
		hits++
	}
}

// BenchmarkConstantPacer measures one Pace call of a constant pacer.
func BenchmarkConstantPacer(b *testing.B) {
	b.ReportAllocs()
	p := ConstantPacer{Rate: 1000}
	var (
		elapsed time.Duration
		hits    uint64
	)
	for b.Loop() {
		wait, _ := p.Pace(elapsed, hits)
		elapsed += wait
		hits++
	}
}

// BenchmarkPoissonPacer measures one Pace call of a Poisson pacer, one draw per call.
func BenchmarkPoissonPacer(b *testing.B) {
	b.ReportAllocs()
	p := NewPoissonPacer(1000, 1)
	var (
		elapsed time.Duration
		hits    uint64
	)
	for b.Loop() {
		wait, _ := p.Pace(elapsed, hits)
		elapsed += wait
		hits++
	}
}
