package stats

import (
	"errors"
	"math"
	"testing"
)

func TestJonckheereTerpstraPublished(t *testing.T) {
	tests := []struct {
		name        string
		groups      [][]float64
		alt         Alternative
		j, mean, sd float64
		p           float64
		ptol        float64
		method      Method
	}{
		// Jonckheere (1954), Biometrika 41:133, the example data (also in
		// R's npordtests ?RsTest). J = 71; kSamples::jt.test prints
		// "test statistic 71, mu 48, sig 10.71"; the exact upper tail
		// P(J ≥ 71) = 1 − kSamples::pjt(70, c(4, 4, 4, 4)) = 0.01684189.
		{"Jonckheere 1954", [][]float64{
			{19, 20, 60, 130}, {21, 61, 80, 129}, {40, 99, 100, 149}, {49, 110, 151, 160},
		}, Greater, 71, 48, 10.71, 0.01684188827, 1e-9, Exact},
		// Sachs (1997), p. 402, the example of PMCMRplus ?jonckheereTest:
		// J = 59, kSamples: "mu 37.5, sig 9.465"; exact 1 −
		// pjt(58, c(5, 5, 5)) = 0.01196423.
		{"Sachs p.402", [][]float64{
			{106, 114, 116, 127, 145}, {110, 125, 143, 148, 151}, {136, 139, 149, 160, 174},
		}, Greater, 59, 37.5, 9.465, 0.01196422625, 1e-9, Exact},
		// S. Sawyer, Washington University Math 408, OneWayLayout program
		// output (three 139s, so the normal approximation): "J = 62.5
		// E(J)=37.5 Var(J)=88.8919 (tie-corrected)", "Large-sample
		// approximation: Z=2.6516 P=0.00801 (2-sided, T.C.)".
		{"Sawyer one-way layout, ties", [][]float64{
			{53, 31, 139, 5, 16}, {75, 64, 205, 97, 139}, {54, 139, 194, 1253, 275},
		}, TwoSided, 62.5, 37.5, math.Sqrt(88.8919), 0.00801, 5e-6, Normal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JonckheereTerpstra(tt.groups, tt.alt)
			if err != nil {
				t.Fatal(err)
			}
			if got.J != tt.j || got.Mean != tt.mean || !near(math.Sqrt(got.Variance), tt.sd, 5e-4) {
				t.Errorf("got J = %v, mean = %v, sd = %.6g, want %v, %v, %.6g", got.J, got.Mean, math.Sqrt(got.Variance), tt.j, tt.mean, tt.sd)
			}
			if !near(got.P, tt.p, tt.ptol) || got.Method != tt.method || got.Alternative != tt.alt {
				t.Errorf("got P = %.10g (%v, %v), want %.10g (%v, %v)", got.P, got.Method, got.Alternative, tt.p, tt.method, tt.alt)
			}
		})
	}
	// Sawyer's printed Z.
	got, _ := JonckheereTerpstra([][]float64{{53, 31, 139, 5, 16}, {75, 64, 205, 97, 139}, {54, 139, 194, 1253, 275}}, TwoSided)
	if !near(got.Z, 2.6516, 5e-5) || !near(got.Variance, 88.8919, 5e-5) {
		t.Errorf("Sawyer: got Z = %.6g, Var = %.6g, want 2.6516, 88.8919", got.Z, got.Variance)
	}
}

// TestJonckheereTerpstraExactBruteForce counts J over every arrangement of
// the group labels and compares the whole distribution.
func TestJonckheereTerpstraExactBruteForce(t *testing.T) {
	for _, sizes := range [][]int{{2, 3, 2}, {1, 1, 1, 1}, {3, 1, 2, 2}, {4, 4}} {
		var labels []int
		groups := make([][]float64, len(sizes))
		for g, n := range sizes {
			for range n {
				labels = append(labels, g)
			}
			groups[g] = make([]float64, n)
		}
		want := map[int]float64{}
		permuteMultiset(labels, func(p []int) {
			j := 0 // pairs at positions a < b (values a < b) with label[a] < label[b]
			for a := range p {
				for b := a + 1; b < len(p); b++ {
					if p[a] < p[b] {
						j++
					}
				}
			}
			want[j]++
		})
		got := jtDist(groups).counts
		var total float64
		for j, c := range got {
			total += c
			if c != want[j] {
				t.Errorf("sizes %v: count(J = %d) got %v, want %v", sizes, j, c, want[j])
			}
		}
		var wantTotal float64
		for _, c := range want {
			wantTotal += c
		}
		if total != wantTotal {
			t.Errorf("sizes %v: got %v arrangements, want %v", sizes, total, wantTotal)
		}
	}
}

// permuteMultiset calls f with every distinct permutation of v.
func permuteMultiset(v []int, f func([]int)) {
	counts := map[int]int{}
	for _, x := range v {
		counts[x]++
	}
	p := make([]int, 0, len(v))
	var rec func()
	rec = func() {
		if len(p) == len(v) {
			f(p)
			return
		}
		for x := 0; x < len(counts); x++ {
			if counts[x] > 0 {
				counts[x]--
				p = append(p, x)
				rec()
				p = p[:len(p)-1]
				counts[x]++
			}
		}
	}
	rec()
}

// TestJonckheereTerpstraTwoGroups: with two groups J is the Mann–Whitney
// U, and the exact p-values agree.
func TestJonckheereTerpstraTwoGroups(t *testing.T) {
	for _, alt := range []Alternative{TwoSided, Greater, Less} {
		jt, err := JonckheereTerpstra([][]float64{hwEarly, hwTerm}, alt)
		if err != nil {
			t.Fatal(err)
		}
		mw, err := MannWhitney(hwEarly, hwTerm, alt)
		if err != nil {
			t.Fatal(err)
		}
		if jt.J != mw.U || !near(jt.P, mw.P, 1e-12) || jt.Method != Exact {
			t.Errorf("%v: JT J = %v, P = %v (%v); MW U = %v, P = %v", alt, jt.J, jt.P, jt.Method, mw.U, mw.P)
		}
	}
}

func TestJonckheereTerpstraEdges(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]float64
		alt    Alternative
		want   error
	}{
		{"no groups", nil, TwoSided, ErrBadArgument},
		{"one group", [][]float64{{1, 2}}, TwoSided, ErrBadArgument},
		{"empty group", [][]float64{{1, 2}, {}}, TwoSided, ErrEmpty},
		{"NaN", [][]float64{{1, 2}, {math.NaN()}}, TwoSided, ErrNotFinite},
		{"bad alternative", [][]float64{{1}, {2}}, Alternative(-1), ErrBadArgument},
	}
	for _, tt := range tests {
		if _, err := JonckheereTerpstra(tt.groups, tt.alt); !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
	// All equal: no trend, P = 1.
	got, err := JonckheereTerpstra([][]float64{{3, 3}, {3}, {3, 3, 3}}, Greater)
	if err != nil {
		t.Fatal(err)
	}
	if got.P != 1 || got.Method != Degenerate || got.J != got.Mean {
		t.Errorf("all equal: got %+v, want P = 1, degenerate, J = mean", got)
	}
	// A single run per setting, perfectly increasing over 5 settings: the
	// exact upper tail is 1/5! and the decreasing tail is 1.
	inc := [][]float64{{1}, {2}, {3}, {4}, {5}}
	up, _ := JonckheereTerpstra(inc, Greater)
	down, _ := JonckheereTerpstra(inc, Less)
	if !near(up.P, 1.0/120, 1e-12) || down.P != 1 || up.J != 10 {
		t.Errorf("increasing singletons: got J = %v, P(greater) = %v, P(less) = %v, want 10, 1/120, 1", up.J, up.P, down.P)
	}
}

// BenchmarkJonckheereTerpstraExact100: the largest exact test, a sweep of
// 4 settings × 25 runs without ties.
func BenchmarkJonckheereTerpstraExact100(b *testing.B) {
	g := make([][]float64, 4)
	for i := range 100 {
		g[i%4] = append(g[i%4], float64(i*7%101))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JonckheereTerpstra(g, TwoSided); err != nil {
			b.Fatal(err)
		}
	}
}
