package stats_test

import (
	"fmt"

	"github.com/nobufs/nobufs/report/stats"
)

// A metric, one value per run: connects/s of 5 BASE and 5 NEW runs (R:
// wilcox.test(new, base, conf.int = TRUE) gives p = 0.007937, -93 [-121, -68]).
func Example_metric() {
	base := []float64{1210, 1195, 1230, 1188, 1202}
	next := []float64{1102, 1120, 1098, 1131, 1109}
	const alpha = 0.05
	mw, _ := stats.MannWhitney(base, next, stats.TwoSided)
	shift, _ := stats.HodgesLehmann(base, next, 1-alpha)
	tooFew := stats.MinAchievableP(len(base), len(next)) > alpha
	v, _ := stats.Decide(stats.HigherIsBetter, mw.P, alpha, shift.Estimate, tooFew)
	fmt.Printf("%v: shift %.0f [%.0f, %.0f], p = %.4f (%v)\n", v, shift.Estimate, shift.Lower, shift.Upper, mw.P, mw.Method)

	// 3 runs a side can never reach p < 0.05.
	fmt.Printf("3 vs 3: smallest p = %.2f\n", stats.MinAchievableP(3, 3))
	// Output:
	// worse: shift -93 [-121, -68], p = 0.0079 (exact)
	// 3 vs 3: smallest p = 0.10
}

// Time to failure, censored at the runs' 600 s bound (R: survdiff gives
// Chisq = 4.6, expected 3.23 for NEW).
func Example_timeToFailure() {
	base := stats.Sample{Times: []float64{120, 95, 300, 600, 210}, Failed: []bool{true, true, true, false, true}}
	next := stats.Sample{Times: []float64{600, 600, 480, 600, 600}, Failed: []bool{false, false, true, false, false}}
	lr, err := stats.LogRank([]stats.Sample{base, next})
	if err != nil {
		fmt.Println(err)
		return
	}
	km, _ := stats.NewKaplanMeier(next)
	m, _ := km.Median(0.95)
	v, _ := stats.Decide(stats.HigherIsBetter, lr.P, 0.05, lr.Expected[1]-lr.Observed[1], false)
	fmt.Printf("%v: NEW failed %v times, %.2f expected, chi2 = %.2f, p = %.3f; NEW median TTF %v\n",
		v, lr.Observed[1], lr.Expected[1], lr.Chi2, lr.P, m.Estimate)
	// Output:
	// better: NEW failed 1 times, 3.23 expected, chi2 = 4.62, p = 0.032; NEW median TTF not reached
}
