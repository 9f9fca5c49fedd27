package stats

import (
	"errors"
	"math"
	"testing"
)

// Hollander & Wolfe (1973), p. 69, the two-sample example of R's
// ?wilcox.test: permeability constants of the human chorioamnion at term
// (hwTerm) and at 12 to 26 weeks (hwEarly).
var (
	hwTerm  = []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	hwEarly = []float64{1.15, 0.88, 0.90, 0.74, 1.21}
)

// R's datasets::airquality, Ozone (ppb) in May and in August without the
// missing days, the example of R's ?wilcox.test with ties.
var (
	ozoneMay = []float64{41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1,
		11, 4, 32, 23, 45, 115, 37}
	ozoneAug = []float64{39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9,
		45, 168, 73, 76, 118, 84, 85}
)

func TestMannWhitneyPublished(t *testing.T) {
	tests := []struct {
		name   string
		x, y   []float64
		alt    Alternative
		wantU  float64
		wantP  float64
		tol    float64
		method Method
	}{
		// R: wilcox.test(x, y, alternative = "g") on H&W p. 69 prints
		// "W = 35, p-value = 0.1272" (exact). Our y is R's x: U counts y > x.
		{"H&W p.69 greater, exact", hwEarly, hwTerm, Greater, 35, 0.1272, 5e-5, Exact},
		// R: wilcox.test(x, y) on the same data: "W = 35, p-value = 0.2544".
		{"H&W p.69 two-sided, exact", hwEarly, hwTerm, TwoSided, 35, 0.2544, 5e-5, Exact},
		// The same test seen from the other side: U = 50 − 35, "less".
		{"H&W p.69 less, swapped", hwTerm, hwEarly, Less, 15, 0.1272, 5e-5, Exact},
		// R: wilcox.test(Ozone ~ Month, data = airquality, subset = Month
		// %in% c(5, 8)) prints "W = 127.5, p-value = 0.0001208" (normal
		// approximation with continuity correction; ties).
		{"airquality May vs Aug, ties", ozoneAug, ozoneMay, TwoSided, 127.5, 0.0001208078, 1e-6, Normal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MannWhitney(tt.x, tt.y, tt.alt)
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tt.wantU || got.Method != tt.method || !near(got.P, tt.wantP, tt.tol) {
				t.Errorf("got U = %v, P = %.7g (%v), want U = %v, P = %.7g (%v)",
					got.U, got.P, got.Method, tt.wantU, tt.wantP, tt.method)
			}
			if got.N != len(tt.x) || got.M != len(tt.y) || got.Alternative != tt.alt {
				t.Errorf("got N, M, alt = %d, %d, %v, want %d, %d, %v", got.N, got.M, got.Alternative, len(tt.x), len(tt.y), tt.alt)
			}
		})
	}
}

// TestMannWhitneyExactTails checks the exact distribution where it is
// known in closed form: completely separated samples reach the smallest
// p-value, 2/C(n+m, n), and its one-sided half, down to 40 vs 40 where it
// is about 1e-23 (relative precision kept by summing the tail alone).
func TestMannWhitneyExactTails(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {3, 3}, {4, 4}, {3, 5}, {10, 7}, {40, 40}, {49, 49}} {
		n, m := size[0], size[1]
		x := make([]float64, n)
		y := make([]float64, m)
		for i := range x {
			x[i] = float64(i)
		}
		for j := range y {
			y[j] = float64(n + j)
		}
		got, err := MannWhitney(x, y, TwoSided)
		if err != nil {
			t.Fatal(err)
		}
		want := MinAchievableP(n, m)
		if got.Method != Exact || got.U != float64(n*m) || math.Abs(got.P-want) > 1e-12*want {
			t.Errorf("%d vs %d separated: got U = %v, P = %g (%v), want U = %d, P = %g (exact)", n, m, got.U, got.P, got.Method, n*m, want)
		}
		less, err := MannWhitney(x, y, Less)
		if err != nil {
			t.Fatal(err)
		}
		if less.P != 1 {
			t.Errorf("%d vs %d separated, less: got P = %g, want 1", n, m, less.P)
		}
	}
}

// TestMannWhitneyDistBruteForce compares the exact distribution with a
// count over every arrangement of n x's and m y's.
func TestMannWhitneyDistBruteForce(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {2, 3}, {4, 3}, {5, 5}, {1, 7}} {
		n, m := size[0], size[1]
		want := make([]float64, n*m+1)
		for mask := 0; mask < 1<<(n+m); mask++ {
			if popcount(mask) != m { // bit set: position holds a y
				continue
			}
			u, xs := 0, 0
			for pos := range n + m {
				if mask>>pos&1 == 1 {
					u += xs // this y beats every x below it
				} else {
					xs++
				}
			}
			want[u]++
		}
		got := mwDist(n, m).counts
		for u := range want {
			if got[u] != want[u] {
				t.Errorf("%d vs %d: count(U = %d) got %v, want %v", n, m, u, got[u], want[u])
			}
		}
	}
}

func popcount(v int) int {
	c := 0
	for ; v != 0; v &= v - 1 {
		c++
	}
	return c
}

func TestMinAchievableP(t *testing.T) {
	tests := []struct {
		n, m int
		want float64
	}{
		{3, 3, 0.1},      // benchstat: 3 vs 3 cannot reach 0.05
		{4, 4, 2.0 / 70}, // 0.029: 4 a side is the least that can
		{3, 4, 2.0 / 35}, // 0.057: still not enough
		{3, 5, 2.0 / 56}, // 0.036
		{1, 1, 1},        // capped at 1
		{2, 2, 2.0 / 6},  // 0.33
		{0, 5, 1},        // nothing to compare
		{5, 0, 1},        //
		{10, 10, 2 / 184756.0},
	}
	for _, tt := range tests {
		if got := MinAchievableP(tt.n, tt.m); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("MinAchievableP(%d, %d) = %v, want %v", tt.n, tt.m, got, tt.want)
		}
	}
}

func TestMannWhitneyEdges(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	errTests := []struct {
		name string
		x, y []float64
		alt  Alternative
		want error
	}{
		{"empty x", nil, []float64{1}, TwoSided, ErrEmpty},
		{"empty y", []float64{1}, []float64{}, TwoSided, ErrEmpty},
		{"NaN", []float64{1, nan}, []float64{2}, TwoSided, ErrNotFinite},
		{"Inf", []float64{1}, []float64{2, inf}, TwoSided, ErrNotFinite},
		{"bad alternative", []float64{1}, []float64{2}, Alternative(7), ErrBadArgument},
	}
	for _, tt := range errTests {
		if _, err := MannWhitney(tt.x, tt.y, tt.alt); !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
		if _, err := HodgesLehmann(tt.x, tt.y, 0.95); tt.want != ErrBadArgument && !errors.Is(err, tt.want) {
			t.Errorf("HodgesLehmann %s: got error %v, want %v", tt.name, err, tt.want)
		}
	}

	tests := []struct {
		name   string
		x, y   []float64
		wantU  float64
		wantP  float64
		method Method
	}{
		// Every value equal: no information, no change.
		{"all equal", []float64{5, 5, 5}, []float64{5, 5}, 3, 1, Degenerate},
		// One run a side: U is 0 or 1 with probability ½ each.
		{"single observations", []float64{1}, []float64{2}, 1, 1, Exact},
		{"single equal observations", []float64{1}, []float64{1}, 0.5, 1, Degenerate},
	}
	for _, tt := range tests {
		got, err := MannWhitney(tt.x, tt.y, TwoSided)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.U != tt.wantU || got.P != tt.wantP || got.Method != tt.method {
			t.Errorf("%s: got U = %v, P = %v (%v), want U = %v, P = %v (%v)", tt.name, got.U, got.P, got.Method, tt.wantU, tt.wantP, tt.method)
		}
	}
}

func TestHodgesLehmannPublished(t *testing.T) {
	tests := []struct {
		name              string
		x, y              []float64
		level             float64
		est, lower, upper float64
		tol               float64
		coverage          float64
		method            Method
	}{
		// R: wilcox.test(x, y, conf.int = TRUE) on H&W p. 69 prints
		// "95 percent confidence interval: -0.15 0.76", "difference in
		// location 0.305" (exact). Coverage: 1 − 2·pwilcox(8, 10, 5) =
		// 0.96004 with qwilcox(0.025, 10, 5) = 9.
		{"H&W p.69", hwEarly, hwTerm, 0.95, 0.305, -0.15, 0.76, 1e-12, 0.96003996, Exact},
		// The same from the other side (R: wilcox.test(y, x, conf.int =
		// TRUE) prints -0.76 0.15 and -0.305).
		{"H&W p.69 swapped", hwTerm, hwEarly, 0.95, -0.305, -0.76, 0.15, 1e-12, 0.96003996, Exact},
		// R on the airquality example (ties, so normal approximation)
		// prints "-52.99998542 -14.99997898" and "-31.99995872": R inverts
		// the test numerically, we take the order statistics of the
		// integer differences, so we agree to R's root tolerance.
		{"airquality May vs Aug", ozoneAug, ozoneMay, 0.95, -32, -53, -15, 1e-3, 0.95, Normal},
	}
	for _, tt := range tests {
		got, err := HodgesLehmann(tt.x, tt.y, tt.level)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !near(got.Estimate, tt.est, tt.tol) || !near(got.Lower, tt.lower, tt.tol) || !near(got.Upper, tt.upper, tt.tol) {
			t.Errorf("%s: got %v [%v, %v], want %v [%v, %v]", tt.name, got.Estimate, got.Lower, got.Upper, tt.est, tt.lower, tt.upper)
		}
		if !near(got.Coverage, tt.coverage, 1e-7) || got.Method != tt.method || got.Level != tt.level {
			t.Errorf("%s: got coverage %v (%v) at level %v, want %v (%v) at %v", tt.name, got.Coverage, got.Method, got.Level, tt.coverage, tt.method, tt.level)
		}
	}
}

func TestHodgesLehmannEdges(t *testing.T) {
	if _, err := HodgesLehmann(make([]float64, 4000), make([]float64, 3000), 0.95); !errors.Is(err, ErrBadArgument) {
		t.Errorf("12 million pairs: got error %v, want ErrBadArgument", err)
	}
	for _, level := range []float64{0, 1, -0.5, 1.5, math.NaN()} {
		if _, err := HodgesLehmann([]float64{1}, []float64{2}, level); !errors.Is(err, ErrBadArgument) {
			t.Errorf("level %v: got error %v, want ErrBadArgument", level, err)
		}
	}
	// One run a side: the only difference, and an interval that covers
	// nothing: coverage 0 tells the caller the level was not reached.
	got, err := HodgesLehmann([]float64{1}, []float64{3}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if got.Estimate != 2 || got.Lower != 2 || got.Upper != 2 || got.Coverage != 0 || got.Method != Exact {
		t.Errorf("1 vs 1: got %+v, want estimate 2 in [2, 2], coverage 0, exact", got)
	}
	// All equal: no shift.
	got, err = HodgesLehmann([]float64{4, 4, 4}, []float64{4, 4, 4, 4}, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if got.Estimate != 0 || got.Lower != 0 || got.Upper != 0 || got.Method != Degenerate {
		t.Errorf("all equal: got %+v, want 0 in [0, 0], degenerate", got)
	}
	// A pure shift is found exactly, and the interval holds it.
	x := []float64{10, 12, 15, 11, 13, 14, 16, 9}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v + 100.5
	}
	got, err = HodgesLehmann(x, y, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if got.Estimate != 100.5 || !(got.Lower <= 100.5 && 100.5 <= got.Upper) || got.Coverage < 0.95 {
		t.Errorf("shift 100.5: got %+v, want estimate 100.5 inside the interval, coverage ≥ 0.95", got)
	}
}

// BenchmarkMannWhitneyExact49: the largest exact test (49 vs 49, no ties).
func BenchmarkMannWhitneyExact49(b *testing.B) {
	x := make([]float64, 49)
	y := make([]float64, 49)
	for i := range x {
		x[i], y[i] = float64(2*i), float64(2*i+1)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MannWhitney(x, y, TwoSided); err != nil {
			b.Fatal(err)
		}
	}
}
