package stats

import (
	"errors"
	"math"
	"testing"
)

// Klein & Moeschberger (2003), Survival Analysis, exercise 7.7 (R:
// KMsurv::bnct): days to death of rats with F98 glioma, untreated,
// radiated, and radiated + BPA. The handout "Sta678 #4: Calculating
// logrank and trend tests" (J. Fan, San Diego State University) prints R's
// survdiff and the trend test on these data.
var (
	bnctUntreated = Sample{[]float64{20, 21, 23, 24, 24, 26, 26, 27, 28, 30}, allTrue(10)}
	bnctRadiated  = Sample{
		Times:  []float64{26, 28, 29, 29, 30, 30, 31, 31, 32, 35},
		Failed: []bool{true, true, true, true, true, true, true, true, true, false},
	}
	bnctBPA = Sample{
		Times:  []float64{31, 32, 34, 35, 36, 38, 38, 39, 42, 42},
		Failed: []bool{true, true, true, true, true, true, true, true, false, false},
	}
)

func TestLogRankPublished(t *testing.T) {
	tests := []struct {
		name     string
		groups   []Sample
		observed []float64
		expected []float64
		variance [][]float64 // nil: not published
		chi2, p  float64
		df       int
		tol      float64
	}{
		// R: survdiff(Surv(time, cens) ~ treat, data = MASS::gehan) prints
		// "6-MP 21 9 19.3 … control 21 21 10.7 … Chisq= 16.8 on 1 degrees
		// of freedom"; R's p is 4.17e-05 (RPubs 79128 prints "p= 4.17e-05").
		// Full digits from R 4.2.2: chisq 16.79294099, exp 19.25050095
		// and 10.74949905, var 6.256960574, p 4.168809109e-05.
		{"Gehan", []Sample{gehan6MP, gehanPlacebo},
			[]float64{9, 21}, []float64{19.25050095, 10.74949905},
			[][]float64{{6.256960574, -6.256960574}, {-6.256960574, 6.256960574}},
			16.79294099, 4.168809109e-05, 1, 1e-8},
		// R's ?survdiff example: survdiff(Surv(futime, fustat) ~ rx, data =
		// ovarian) prints "rx=1 13 7 5.23 0.596 1.06", "rx=2 13 5 6.77
		// 0.461 1.06", "Chisq= 1.1 on 1 degrees of freedom, p= 0.3";
		// censoring in both groups. Full digits: chisq 1.062739861, exp
		// 5.233531017, 6.766468983, p 0.302591117.
		{"ovarian", []Sample{ovarian1, ovarian2},
			[]float64{7, 5}, []float64{5.233531017, 6.766468983}, nil,
			1.062739861, 0.302591117, 1, 1e-8},
		// Fan's handout, R's survdiff on K&M exercise 7.7: "trt=1 10 10
		// 2.66 …, trt=2 10 9 7.60 …, trt=3 10 8 16.74 …, Chisq= 33.4 on 2
		// degrees of freedom, p= 5.64e-08"; fit$exp 2.656485 7.600097
		// 16.743418; fit$var as below; the 2-df statistic 33.38033.
		{"BNCT, 3 groups", []Sample{bnctUntreated, bnctRadiated, bnctBPA},
			[]float64{10, 9, 8}, []float64{2.656485, 7.600097, 16.743418},
			[][]float64{
				{1.9706489, -0.9545184, -1.016130},
				{-0.9545184, 4.5471241, -3.592606},
				{-1.0161305, -3.5926057, 4.608736},
			},
			33.38033, 5.64e-08, 2, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LogRank(tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Chi2, tt.chi2, tt.tol) || got.DF != tt.df || math.Abs(got.P-tt.p) > 5e-3*tt.p {
				t.Errorf("got chi2 = %.10g on %d df, p = %.10g, want %.10g on %d, p = %.10g", got.Chi2, got.DF, got.P, tt.chi2, tt.df, tt.p)
			}
			for g := range tt.groups {
				if got.N[g] != len(tt.groups[g].Times) || got.Observed[g] != tt.observed[g] || !near(got.Expected[g], tt.expected[g], tt.tol) {
					t.Errorf("group %d: got N = %d, O = %v, E = %.10g, want %d, %v, %.10g",
						g, got.N[g], got.Observed[g], got.Expected[g], len(tt.groups[g].Times), tt.observed[g], tt.expected[g])
				}
				for h := range tt.variance {
					if !near(got.Variance[g][h], tt.variance[g][h], tt.tol) {
						t.Errorf("V[%d][%d]: got %.10g, want %.10g", g, h, got.Variance[g][h], tt.variance[g][h])
					}
				}
			}
		})
	}
}

func TestLogRankEdges(t *testing.T) {
	censored := Sample{[]float64{5, 6, 7}, []bool{false, false, false}}
	early := Sample{[]float64{0.2, 0.5}, []bool{false, false}} // gone before anyone fails
	tests := []struct {
		name   string
		groups []Sample
		want   error
	}{
		{"no groups", nil, ErrBadArgument},
		{"one group", []Sample{gehan6MP}, ErrBadArgument},
		{"empty group", []Sample{gehan6MP, {}}, ErrEmpty},
		{"NaN time", []Sample{gehan6MP, {[]float64{math.NaN()}, []bool{true}}}, ErrNotFinite},
		{"negative time", []Sample{gehan6MP, {[]float64{-1}, []bool{true}}}, ErrNegativeTime},
		{"mismatched flags", []Sample{gehan6MP, {[]float64{1, 2}, []bool{true}}}, ErrLengthMismatch},
		{"all censored", []Sample{censored, censored}, ErrNoEvents},
		{"nobody else at risk", []Sample{{[]float64{5, 6}, allTrue(2)}, early}, ErrNoTest},
	}
	for _, tt := range tests {
		_, err := LogRank(tt.groups)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
	// ErrNoEvents is a kind of ErrNoTest: compare can check either. The
	// counts are still there to report.
	r, err := LogRank([]Sample{censored, censored})
	if !errors.Is(err, ErrNoTest) || r.N[1] != 3 || r.Observed[0] != 0 || r.Expected[1] != 0 {
		t.Errorf("all censored: got %v, %+v, want an error matching ErrNoTest with N = [3 3], O = E = 0", err, r)
	}

	// A group that left before the first failure adds nothing: the test
	// is the two-group one, on 1 df (R's survdiff drops it likewise).
	got, err := LogRank([]Sample{gehan6MP, gehanPlacebo, early})
	if err != nil {
		t.Fatal(err)
	}
	if got.DF != 1 || !near(got.Chi2, 16.79294099, 1e-8) || got.Expected[2] != 0 {
		t.Errorf("with an idle group: got chi2 = %v on %d df, E = %v, want 16.79294099 on 1, E[2] = 0", got.Chi2, got.DF, got.Expected)
	}

	// Identical groups: nothing to tell apart.
	got, err = LogRank([]Sample{gehan6MP, gehan6MP})
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Chi2, 0, 1e-12) || !near(got.P, 1, 1e-9) {
		t.Errorf("identical groups: got chi2 = %v, p = %v, want 0, 1", got.Chi2, got.P)
	}

	// One run in each group.
	got, err = LogRank([]Sample{{[]float64{1}, []bool{true}}, {[]float64{2}, []bool{true}}})
	if err != nil {
		t.Fatal(err)
	}
	// At t=1: n=2, d=1, E = (½, ½), V = ¼; at t=2 only the second is at
	// risk: E2 += 1, V += 0. O − E = (½, −½), chi2 = ¼/¼.
	if got.Expected[0] != 0.5 || got.Expected[1] != 1.5 || !near(got.Chi2, 1, 1e-12) {
		t.Errorf("one run each: got E = %v, chi2 = %v, want [0.5 1.5], 1", got.Expected, got.Chi2)
	}
}

func TestLogRankTrendPublished(t *testing.T) {
	// Fan's handout, trend test with a_j = j on K&M exercise 7.7:
	// "(num/den)^2 = 30.0511", "1-pchisq(30.0511, 1) = 4.208098e-08". The
	// numerator Σ j (O_j − E_j) is negative: the better treated, the later
	// the rats die.
	got, err := LogRankTrend([]Sample{bnctUntreated, bnctRadiated, bnctBPA}, []float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Chi2, 30.0511, 5e-6) || math.Abs(got.P-4.208098e-08) > 1e-4*4.208098e-08 || got.Z >= 0 {
		t.Errorf("BNCT trend: got chi2 = %.7g, p = %.7g, Z = %v, want 30.0511, 4.208098e-08, Z < 0", got.Chi2, got.P, got.Z)
	}
	if !near(got.Z*got.Z, got.Chi2, 1e-12) || !near(got.U/math.Sqrt(got.Variance), got.Z, 1e-12) {
		t.Errorf("BNCT trend: Z = %v, U = %v, V = %v, chi2 = %v do not agree", got.Z, got.U, got.Variance, got.Chi2)
	}
	if got.LogRank.DF != 2 || !near(got.LogRank.Chi2, 33.38033, 1e-6) {
		t.Errorf("BNCT trend: embedded log-rank chi2 = %v on %d df, want 33.38033 on 2", got.LogRank.Chi2, got.LogRank.DF)
	}

	// Scores are a linear scale: any increasing affine map gives the same
	// test; reversing the order flips the sign only.
	for _, scores := range [][]float64{{10, 20, 30}, {-1, 0, 1}, {3, 2, 1}} {
		s, err := LogRankTrend([]Sample{bnctUntreated, bnctRadiated, bnctBPA}, scores)
		if err != nil {
			t.Fatal(err)
		}
		wantSign := -1.0
		if scores[0] > scores[2] {
			wantSign = 1
		}
		if !near(s.Chi2, got.Chi2, 1e-9) || math.Signbit(s.Z) != (wantSign < 0) {
			t.Errorf("scores %v: got chi2 = %v, Z = %v, want %v with sign %v", scores, s.Chi2, s.Z, got.Chi2, wantSign)
		}
	}

	// With two groups the trend test is the log-rank test: Gehan, placebo
	// scored higher, fails sooner: Z > 0.
	two, err := LogRankTrend([]Sample{gehan6MP, gehanPlacebo}, []float64{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !near(two.Chi2, 16.79294099, 1e-8) || two.Z <= 0 {
		t.Errorf("Gehan as a trend: got chi2 = %v, Z = %v, want 16.79294099, Z > 0", two.Chi2, two.Z)
	}
}

func TestLogRankTrendEdges(t *testing.T) {
	groups := []Sample{bnctUntreated, bnctRadiated, bnctBPA}
	censored := Sample{[]float64{5}, []bool{false}}
	tests := []struct {
		name   string
		groups []Sample
		scores []float64
		want   error
	}{
		{"too few scores", groups, []float64{1, 2}, ErrLengthMismatch},
		{"NaN score", groups, []float64{1, math.NaN(), 3}, ErrNotFinite},
		{"equal scores", groups, []float64{2, 2, 2}, ErrNoTest},
		{"all censored", []Sample{censored, censored}, []float64{1, 2}, ErrNoEvents},
		{"one group", groups[:1], []float64{1}, ErrBadArgument},
	}
	for _, tt := range tests {
		if _, err := LogRankTrend(tt.groups, tt.scores); !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
}
