package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// LogRankResult is the outcome of a log-rank (Mantel–Haenszel) test of
// k ≥ 2 survival curves. Slices are per group, in the order given.
type LogRankResult struct {
	N []int
	// Observed failures and Expected failures under H0 (same hazard in
	// all groups). A group with Observed > Expected fails sooner than
	// the others.
	Observed, Expected []float64
	// Variance is the k×k covariance matrix of Observed − Expected.
	Variance [][]float64
	// Chi2 = (O−E)ᵀ V⁻ (O−E) on DF = rank V degrees of freedom (k−1
	// unless a group has nobody at risk at any event time), and P its
	// upper tail.
	Chi2 float64
	DF   int
	P    float64
}

// LogRank tests whether the groups' survival curves differ. At each
// distinct event time t with n at risk and d failures in all, group g
// with n_g at risk expects d·n_g/n failures, and
//
//	V_gh += d (n−d)/(n−1) · n_g/n · (δ_gh − n_h/n),
//
// the hypergeometric variance, as R's survdiff (rho = 0). The statistic
// uses the Moore–Penrose inverse of V, so it needs no reference group. It
// returns ErrNoEvents when no group has a failure, and ErrNoTest when
// fewer than two groups have anybody at risk when failures happen; with
// those two errors the result still holds N, Observed and Expected, so a
// report can say what it saw ("0 of 5 runs failed").
func LogRank(groups []Sample) (LogRankResult, error) {
	if len(groups) < 2 {
		return LogRankResult{}, fmt.Errorf("log-rank needs at least 2 groups, got %d: %w", len(groups), ErrBadArgument)
	}
	for g, s := range groups {
		if err := s.check(fmt.Sprintf("group %d", g)); err != nil {
			return LogRankResult{}, err
		}
	}
	k := len(groups)
	r := LogRankResult{
		N:        make([]int, k),
		Observed: make([]float64, k),
		Expected: make([]float64, k),
		Variance: make([][]float64, k),
	}
	for g := range r.Variance {
		r.Variance[g] = make([]float64, k)
	}
	type obs struct {
		t      float64
		g      int
		failed bool
	}
	var all []obs
	atRisk := make([]float64, k)
	for g, s := range groups {
		r.N[g] = len(s.Times)
		atRisk[g] = float64(len(s.Times))
		for i, t := range s.Times {
			all = append(all, obs{t, g, s.Failed[i]})
		}
	}
	slices.SortFunc(all, func(a, b obs) int { return cmp.Compare(a.t, b.t) })
	died := make([]float64, k)
	left := make([]float64, k)
	for i := 0; i < len(all); {
		clear(died)
		clear(left)
		var d, n float64
		for _, a := range atRisk {
			n += a
		}
		for t := all[i].t; i < len(all) && all[i].t == t; i++ {
			left[all[i].g]++
			if all[i].failed {
				died[all[i].g]++
				d++
			}
		}
		if d > 0 {
			var c float64 // d(n−d)/(n−1); 0 when a single run is at risk
			if n > 1 {
				c = d * (n - d) / (n - 1)
			}
			for g := range k {
				r.Observed[g] += died[g]
				r.Expected[g] += d * atRisk[g] / n
				for h := range k {
					delta := 0.0
					if g == h {
						delta = 1
					}
					r.Variance[g][h] += c * atRisk[g] / n * (delta - atRisk[h]/n)
				}
			}
		}
		for g := range k {
			atRisk[g] -= left[g]
		}
	}
	var events float64
	for _, o := range r.Observed {
		events += o
	}
	if events == 0 {
		return r, ErrNoEvents
	}
	diff := make([]float64, k)
	for g := range k {
		diff[g] = r.Observed[g] - r.Expected[g]
	}
	chi2, df, err := quadPinv(r.Variance, diff)
	if err != nil {
		return r, err
	}
	r.Chi2, r.DF = chi2, df
	r.P = distuv.ChiSquared{K: float64(df)}.Survival(chi2)
	return r, nil
}

// quadPinv returns bᵀ V⁺ b and the rank of the symmetric matrix V.
func quadPinv(v [][]float64, b []float64) (float64, int, error) {
	k := len(b)
	vm := mat.NewDense(k, k, nil)
	for i := range k {
		for j := range k {
			vm.Set(i, j, v[i][j])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(vm, mat.SVDFull) {
		return 0, 0, fmt.Errorf("log-rank variance matrix: singular value decomposition failed: %w", ErrNoTest)
	}
	rank := svd.Rank(1e-10)
	if rank == 0 {
		return 0, 0, fmt.Errorf("no two groups are at risk together when failures happen: %w", ErrNoTest)
	}
	bv := mat.NewVecDense(k, slices.Clone(b))
	var x mat.VecDense
	svd.SolveVecTo(&x, bv, rank)
	return math.Max(0, mat.Dot(bv, &x)), rank, nil
}

// TrendResult is the outcome of a log-rank test for trend.
type TrendResult struct {
	// LogRank holds the per-group counts and the k−1 df test.
	LogRank LogRankResult
	Scores  []float64
	// U = Σ w_g (O_g − E_g) and Variance = wᵀ V w.
	U, Variance float64
	// Z = U/√Variance: positive when groups with higher scores fail more
	// than expected (sooner), negative when they fail less (later).
	Z float64
	// Chi2 = Z² on 1 degree of freedom and its P (two-sided in Z).
	Chi2, P float64
}

// LogRankTrend tests for a trend of the hazard across ordered groups, e.g.
// a sweep over a setting with scores the setting's values (or 1, 2, …,
// k): the score-weighted sum of the log-rank O − E, standardised by its
// variance under H0 (Klein & Moeschberger, Survival Analysis, §7.4
// "Tests for trend"). One degree of freedom makes it more powerful than
// LogRank's k−1 when failure moves steadily with the setting. Errors as
// LogRank; ErrNoTest also when the scores give a zero variance (all
// equal).
func LogRankTrend(groups []Sample, scores []float64) (TrendResult, error) {
	if len(scores) != len(groups) {
		return TrendResult{}, fmt.Errorf("%d scores for %d groups: %w", len(scores), len(groups), ErrLengthMismatch)
	}
	if err := checkFinite("scores", scores); err != nil {
		return TrendResult{}, err
	}
	lr, err := LogRank(groups)
	if err != nil {
		return TrendResult{}, err
	}
	t := TrendResult{LogRank: lr, Scores: slices.Clone(scores)}
	var scale float64 // Σ w_g² V_gg: the size a non-degenerate variance has
	for g, w := range scores {
		t.U += w * (lr.Observed[g] - lr.Expected[g])
		scale += w * w * lr.Variance[g][g]
		for h, wh := range scores {
			t.Variance += w * lr.Variance[g][h] * wh
		}
	}
	if !(t.Variance > 1e-10*scale) {
		return TrendResult{}, fmt.Errorf("the scores have no variance under H0 (all equal?): %w", ErrNoTest)
	}
	t.Z = t.U / math.Sqrt(t.Variance)
	t.Chi2 = t.Z * t.Z
	t.P = distuv.ChiSquared{K: 1}.Survival(t.Chi2)
	return t, nil
}
