package stats

import (
	"fmt"
	"math"
	"slices"
)

// jtExactLimit: JonckheereTerpstra is exact for at most this many
// observations in all, without ties.
const jtExactLimit = 100

// JTResult is the outcome of a Jonckheere–Terpstra test for a monotone
// trend across ordered groups.
type JTResult struct {
	// J = Σ over group pairs g < h of the pairs (x_g, x_h) with
	// x_h > x_g, plus half the ties: large when later groups are larger.
	J float64
	// Mean and Variance of J under H0; the variance is tie-corrected.
	Mean, Variance float64
	// Z = (J − Mean)/√Variance (no continuity correction).
	Z           float64
	P           float64
	Alternative Alternative
	Method      Method
}

// JonckheereTerpstra tests whether the values move monotonically across
// groups given in their order (Jonckheere 1954, Terpstra 1952): with
// Greater, whether later groups tend to be larger.
//
// It is the check for uncensored metrics over a sweep. Jonckheere–Terpstra
// rather than Spearman's rho because a sweep has a few settings with
// several runs at each: JT is the k-sample form of the Mann–Whitney test
// (J is a sum of pairwise U statistics), it needs no scores for the
// settings, only their order, and it handles the runs that share a
// setting as groups, where Spearman's rho would see a predictor full of
// ties and lose its exact distribution. Without ties and with at most 100
// values in all, P is exact: J is then distributed as the number of
// non-inversions of a random arrangement of the group labels, the
// convolution of the Mann–Whitney distributions for sizes
// (n1, n2), (n1+n2, n3), …. Otherwise P is from the normal approximation
// with the tie-corrected variance of Hollander & Wolfe (Nonparametric
// Statistical Methods, 2nd ed., ch. 6), without continuity correction.
func JonckheereTerpstra(groups [][]float64, alt Alternative) (JTResult, error) {
	if len(groups) < 2 {
		return JTResult{}, fmt.Errorf("jonckheere-terpstra needs at least 2 groups, got %d: %w", len(groups), ErrBadArgument)
	}
	if err := alt.valid(); err != nil {
		return JTResult{}, err
	}
	var pooled []float64
	for g, x := range groups {
		if len(x) == 0 {
			return JTResult{}, fmt.Errorf("group %d: %w", g, ErrEmpty)
		}
		if err := checkFinite(fmt.Sprintf("group %d", g), x); err != nil {
			return JTResult{}, err
		}
		pooled = append(pooled, x...)
	}
	r := JTResult{Alternative: alt}
	for g := range groups {
		for h := g + 1; h < len(groups); h++ {
			u, _ := mannWhitneyU(groups[g], groups[h])
			r.J += u
		}
	}
	slices.Sort(pooled)
	var ties []int
	for i := 0; i < len(pooled); {
		j := i
		for j < len(pooled) && pooled[j] == pooled[i] {
			j++
		}
		if j-i > 1 {
			ties = append(ties, j-i)
		}
		i = j
	}
	nn := float64(len(pooled))
	var sn2, a, b, c float64 // Σn², Σn(n−1)(2n+5), Σn(n−1)(n−2), Σn(n−1)
	for _, x := range groups {
		n := float64(len(x))
		sn2 += n * n
		a += n * (n - 1) * (2*n + 5)
		b += n * (n - 1) * (n - 2)
		c += n * (n - 1)
	}
	var ta, tb, tc float64 // the same sums over the tie groups
	for _, t := range ties {
		ft := float64(t)
		ta += ft * (ft - 1) * (2*ft + 5)
		tb += ft * (ft - 1) * (ft - 2)
		tc += ft * (ft - 1)
	}
	r.Mean = (nn*nn - sn2) / 4
	r.Variance = (nn*(nn-1)*(2*nn+5) - a - ta) / 72
	if nn > 2 {
		r.Variance += b * tb / (36 * nn * (nn - 1) * (nn - 2))
	}
	if nn > 1 {
		r.Variance += c * tc / (8 * nn * (nn - 1))
	}
	if len(ties) == 0 && len(pooled) <= jtExactLimit {
		r.Method, r.P = Exact, jtDist(groups).p(int(r.J), alt)
		r.Z = (r.J - r.Mean) / math.Sqrt(r.Variance)
		return r, nil
	}
	if !(r.Variance > 0) {
		r.Method, r.P = Degenerate, 1
		return r, nil
	}
	r.Method = Normal
	r.Z, r.P = normalP(r.J-r.Mean, math.Sqrt(r.Variance), alt, 0)
	return r, nil
}

// jtDist is the exact null distribution of J without ties.
func jtDist(groups [][]float64) dist {
	counts := []float64{1}
	seen := len(groups[0])
	for _, x := range groups[1:] {
		counts = convolve(counts, mwDist(seen, len(x)).counts)
		seen += len(x)
	}
	return newDist(counts)
}

func convolve(a, b []float64) []float64 {
	out := make([]float64, len(a)+len(b)-1)
	for i, av := range a {
		if av == 0 {
			continue
		}
		for j, bv := range b {
			out[i+j] += av * bv
		}
	}
	return out
}
