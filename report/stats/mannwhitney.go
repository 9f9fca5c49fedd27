package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// exactLimit: MannWhitney and HodgesLehmann use the exact null
// distribution when both samples are smaller than this and there are no
// ties, as R's wilcox.test does.
const exactLimit = 50

// maxPairs bounds HodgesLehmann's N·M differences (80 MB of float64).
const maxPairs = 10_000_000

// MannWhitneyResult is the outcome of a Mann–Whitney (Wilcoxon rank-sum)
// test of y (new) against x (base).
type MannWhitneyResult struct {
	// U counts the pairs (x_i, y_j) with y_j > x_i, plus half the tied
	// pairs: R's W for wilcox.test(y, x). 0 ≤ U ≤ N·M, N·M/2 under H0.
	U float64
	// N and M are len(x) and len(y).
	N, M int
	// P is the p-value for Alternative.
	P           float64
	Alternative Alternative
	// Method says whether P is exact or from the normal approximation.
	Method Method
	// Z is the normal deviate after the continuity correction; 0 for the
	// exact test.
	Z float64
}

// MannWhitney tests whether y (new) is shifted against x (base).
//
// Without ties and with both samples smaller than 50 it uses the exact
// null distribution of U (as R's wilcox.test and benchstat do). Otherwise
// it uses the normal approximation with the tie-corrected variance
//
//	σ² = N·M/12 · ((N+M+1) − Σ(t³−t)/((N+M)(N+M−1)))
//
// and a continuity correction of ½ towards the mean. When every value is
// equal (σ = 0) the test has no information: P = 1, Method = Degenerate.
// A two-sided exact P is twice the smaller tail, capped at 1.
func MannWhitney(x, y []float64, alt Alternative) (MannWhitneyResult, error) {
	if err := checkTwoSamples(x, y); err != nil {
		return MannWhitneyResult{}, err
	}
	if err := alt.valid(); err != nil {
		return MannWhitneyResult{}, err
	}
	n, m := len(x), len(y)
	u, ties := mannWhitneyU(x, y)
	r := MannWhitneyResult{U: u, N: n, M: m, Alternative: alt}
	if len(ties) == 0 && n < exactLimit && m < exactLimit {
		r.Method, r.P = Exact, mwDist(n, m).p(int(u), alt)
		return r, nil
	}
	sigma := mwSigma(n, m, ties)
	if sigma == 0 {
		r.Method, r.P = Degenerate, 1
		return r, nil
	}
	r.Method = Normal
	r.Z, r.P = normalP(u-float64(n*m)/2, sigma, alt, 0.5)
	return r, nil
}

// normalP returns the corrected deviate and p-value of a statistic whose
// centred value is d, with standard deviation sigma, moved by cc towards
// the mean (the continuity correction), as R's wilcox.test does.
func normalP(d, sigma float64, alt Alternative, cc float64) (z, p float64) {
	corr := cc
	if alt == Less || alt == TwoSided && d < 0 {
		corr = -cc
	} else if alt == TwoSided && d == 0 {
		corr = 0
	}
	z = (d - corr) / sigma
	switch alt {
	case Greater:
		p = distuv.UnitNormal.Survival(z)
	case Less:
		p = distuv.UnitNormal.CDF(z)
	default:
		p = 2 * math.Min(distuv.UnitNormal.CDF(z), distuv.UnitNormal.Survival(z))
	}
	return z, math.Min(p, 1)
}

// MinAchievableP is the smallest two-sided p-value the exact Mann–Whitney
// test can return for samples of sizes n and m: 2/C(n+m, n), capped at 1
// (1 when either sample is empty). It reaches 0.05 only from 4 runs a
// side (3 vs 3 gives 0.1, 4 vs 4 gives 0.029), so a comparison with
// MinAchievableP(n, m) > α cannot find a change whatever the data:
// report "too few samples" instead of "no change".
func MinAchievableP(n, m int) float64 {
	if n < 1 || m < 1 {
		return 1
	}
	lc, _ := math.Lgamma(float64(n + m + 1))
	ln, _ := math.Lgamma(float64(n + 1))
	lm, _ := math.Lgamma(float64(m + 1))
	return math.Min(1, 2*math.Exp(-(lc-ln-lm)))
}

// Shift is a Hodges–Lehmann estimate of the shift of y (new) against x
// (base) with its distribution-free confidence interval.
type Shift struct {
	// Estimate is the median of the N·M differences y_j − x_i.
	Estimate float64
	// Lower and Upper bound the interval: order statistics of the
	// differences picked by the Mann–Whitney critical value.
	Lower, Upper float64
	// Level is the confidence level asked for.
	Level float64
	// Coverage is the interval's actual confidence: for the exact method
	// 1 − 2·P(U < C), which is ≥ Level when the samples allow it and
	// below it (down to 0) when they are too small; for the normal
	// approximation, Level.
	Coverage float64
	// Method is Exact, Normal or Degenerate, chosen as in MannWhitney.
	Method Method
}

// HodgesLehmann estimates the location shift of y against x as the median
// of all differences y_j − x_i, with a confidence interval at level
// (e.g. 0.95) from the Mann–Whitney critical values (Hollander & Wolfe,
// Nonparametric Statistical Methods, ch. 4): with C the smallest u such
// that P(U ≤ u) ≥ (1−level)/2 (at least 1), the interval is
// [D(C), D(N·M+1−C)] of the sorted differences D. C comes from the exact
// null distribution when MannWhitney would use it, else from the normal
// approximation C = round(N·M/2 − z·σ) with the tie-corrected σ. The exact
// interval matches R's wilcox.test(y, x, conf.int = TRUE); R's asymptotic
// interval inverts the test numerically instead and differs slightly.
// Memory and time grow with N·M: more than 10 million pairs (it is meant
// for one value per run, not per request) is ErrBadArgument.
func HodgesLehmann(x, y []float64, level float64) (Shift, error) {
	if err := checkTwoSamples(x, y); err != nil {
		return Shift{}, err
	}
	if err := checkLevel(level); err != nil {
		return Shift{}, err
	}
	n, m := len(x), len(y)
	nm := n * m
	if nm > maxPairs {
		return Shift{}, fmt.Errorf("hodges-lehmann: %d×%d pairs > %d: %w", n, m, maxPairs, ErrBadArgument)
	}
	d := make([]float64, 0, nm)
	for _, xi := range x {
		for _, yj := range y {
			d = append(d, yj-xi)
		}
	}
	slices.Sort(d)
	s := Shift{Estimate: median(d), Level: level}
	alpha := 1 - level
	_, ties := mannWhitneyU(x, y)
	var c int
	if len(ties) == 0 && n < exactLimit && m < exactLimit {
		s.Method = Exact
		dist := mwDist(n, m)
		c = dist.quantile(alpha / 2)
		if c < 1 {
			c = 1
		}
		s.Coverage = 1 - 2*dist.cdf(c-1)
	} else {
		sigma := mwSigma(n, m, ties)
		s.Method, s.Coverage = Normal, level
		if sigma == 0 {
			s.Method = Degenerate
		}
		z := distuv.UnitNormal.Quantile(1 - alpha/2)
		c = max(1, int(math.Round(float64(nm)/2-z*sigma)))
	}
	s.Lower, s.Upper = d[c-1], d[nm-c]
	return s, nil
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func checkTwoSamples(x, y []float64) error {
	if len(x) == 0 {
		return fmt.Errorf("x: %w", ErrEmpty)
	}
	if len(y) == 0 {
		return fmt.Errorf("y: %w", ErrEmpty)
	}
	if err := checkFinite("x", x); err != nil {
		return err
	}
	return checkFinite("y", y)
}

// mannWhitneyU returns U for y against x and the sizes of the tie groups
// (of two or more equal values) in the pooled sample.
func mannWhitneyU(x, y []float64) (u float64, ties []int) {
	type obs struct {
		v   float64
		isY bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v, false})
	}
	for _, v := range y {
		all = append(all, obs{v, true})
	}
	slices.SortFunc(all, func(a, b obs) int { return cmp.Compare(a.v, b.v) })
	var rankSumY float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].isY {
				rankSumY += mid
			}
		}
		if j-i > 1 {
			ties = append(ties, j-i)
		}
		i = j
	}
	m := float64(len(y))
	return rankSumY - m*(m+1)/2, ties
}

// mwSigma is the standard deviation of U under H0 with the tie correction.
func mwSigma(n, m int, ties []int) float64 {
	nn := float64(n + m)
	var t3 float64
	for _, t := range ties {
		ft := float64(t)
		t3 += ft*ft*ft - ft
	}
	v := float64(n*m) / 12 * ((nn + 1) - t3/(nn*(nn-1)))
	return math.Sqrt(math.Max(v, 0))
}

// dist is an exact discrete null distribution on 0..len(counts)-1, held
// as counts of equally likely arrangements.
type dist struct {
	counts []float64
	total  float64
}

func newDist(counts []float64) dist {
	var t float64
	for _, c := range counts {
		t += c
	}
	return dist{counts, t}
}

// cdf is P(X ≤ k).
func (d dist) cdf(k int) float64 {
	if k < 0 {
		return 0
	}
	var s float64
	for i := 0; i <= k && i < len(d.counts); i++ {
		s += d.counts[i]
	}
	return math.Min(1, s/d.total)
}

// sf is P(X ≥ k), summed from the top so small tails keep their digits.
func (d dist) sf(k int) float64 {
	var s float64
	for i := len(d.counts) - 1; i >= max(k, 0); i-- {
		s += d.counts[i]
	}
	return math.Min(1, s/d.total)
}

// p is the exact p-value of the observed k for alt; two-sided, twice the
// smaller tail capped at 1 (the distributions here are symmetric).
func (d dist) p(k int, alt Alternative) float64 {
	switch alt {
	case Greater:
		return d.sf(k)
	case Less:
		return d.cdf(k)
	}
	return math.Min(1, 2*math.Min(d.sf(k), d.cdf(k)))
}

// quantile is the smallest k with P(X ≤ k) ≥ p (R's qwilcox).
func (d dist) quantile(p float64) int {
	var s float64
	for k, c := range d.counts {
		s += c
		if s/d.total >= p*(1-1e-12) {
			return k
		}
	}
	return len(d.counts) - 1
}

// mwDist is the exact null distribution of U for sizes n and m without
// ties. c(i, j, u), the number of arrangements of i x's and j y's with
// U = u, obeys c(i, j, u) = c(i−1, j, u) + c(i, j−1, u−i): the largest
// value is an x (beaten by no y) or a y (beating all i x's). Only sums of
// non-negative counts, so the tails keep full precision; O(n²m²) time,
// O(n²m) memory.
func mwDist(n, m int) dist {
	if n > m { // the distribution is symmetric in (n, m); loop over the shorter
		n, m = m, n
	}
	prev := make([][]float64, n+1) // prev[i] = c(i, j−1, ·), cur[i] = c(i, j, ·)
	cur := make([][]float64, n+1)
	for i := range prev {
		prev[i] = make([]float64, i*m+1)
		cur[i] = make([]float64, i*m+1)
		prev[i][0], cur[i][0] = 1, 1 // c(i, 0, ·) = c(0, j, ·) = {1}
	}
	for j := 1; j <= m; j++ {
		for i := 1; i <= n; i++ {
			c := cur[i][:i*j+1]
			clear(c)
			for u, v := range cur[i-1][:(i-1)*j+1] {
				c[u] += v
			}
			for u, v := range prev[i][:i*(j-1)+1] {
				c[u+i] += v
			}
		}
		prev, cur = cur, prev
	}
	return newDist(prev[n])
}
