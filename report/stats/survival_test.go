package stats

import (
	"errors"
	"math"
	"testing"
)

// Gehan (1965), remission of leukaemia in weeks, 6-MP against placebo
// (R: MASS::gehan; KMsurv::drug6mp). false = still in remission (censored).
var (
	gehan6MP = Sample{
		Times: []float64{6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35},
		Failed: []bool{true, true, true, false, true, false, true, false, false, true, true, false, false,
			false, true, true, false, false, false, false, false},
	}
	gehanPlacebo = Sample{
		Times:  []float64{1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23},
		Failed: allTrue(21),
	}
)

// R: survival::ovarian, futime (days) and fustat by treatment rx, the
// example of R's ?survdiff: censoring in both groups.
var (
	ovarian1 = Sample{
		Times:  []float64{59, 115, 156, 431, 448, 477, 638, 803, 855, 1040, 1106, 268, 329},
		Failed: []bool{true, true, true, true, false, false, true, false, false, false, false, true, true},
	}
	ovarian2 = Sample{
		Times:  []float64{421, 464, 475, 563, 744, 769, 770, 1129, 1206, 1227, 353, 365, 377},
		Failed: []bool{false, true, true, true, false, false, false, false, false, false, true, true, false},
	}
)

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// kmRow is one event row of R's summary(survfit(…, conf.type = "log-log")).
type kmRow struct {
	time             float64
	atRisk, events   int
	surv, se, lo, hi float64
}

func TestKaplanMeierPublished(t *testing.T) {
	tests := []struct {
		name string
		s    Sample
		tol  float64
		rows []kmRow
	}{
		// R 4.2.2, survival 3.5-3: summary(survfit(Surv(time, cens) ~
		// treat, data = MASS::gehan, conf.type = "log-log")), digits = 6.
		// The classic table (Kleinbaum & Klein; Collett) has the same
		// S(t) and standard errors: 0.857 (0.0764) … 0.448 (0.1346).
		{"Gehan 6-MP", gehan6MP, 5e-6, []kmRow{
			{6, 21, 3, 0.857143, 0.0763604, 0.619718, 0.951552},
			{7, 17, 1, 0.806723, 0.0869353, 0.563147, 0.922809},
			{10, 15, 1, 0.752941, 0.0963497, 0.503200, 0.889362},
			{13, 12, 1, 0.690196, 0.1068147, 0.431610, 0.849066},
			{16, 11, 1, 0.627451, 0.1140539, 0.367511, 0.804912},
			{22, 7, 1, 0.537815, 0.1282338, 0.267779, 0.746791},
			{23, 6, 1, 0.448179, 0.1345915, 0.188052, 0.680143},
		}},
		// Same source, placebo. The first row is also Stata's `sts list`
		// (log-log is Stata's default) on G. Rodríguez's Gehan page
		// (Princeton WWS 509): "1 21 2 0 0.9048 0.0641 0.6700 0.9751".
		// At 23, S = 0: R prints std.err NaN and no interval.
		{"Gehan placebo", gehanPlacebo, 5e-6, []kmRow{
			{1, 21, 2, 0.9047619, 0.0640564, 0.67004588, 0.975294},
			{2, 19, 2, 0.8095238, 0.0856891, 0.56890506, 0.923889},
			{3, 17, 1, 0.7619048, 0.0929429, 0.51939142, 0.893257},
			{4, 16, 2, 0.6666667, 0.1028689, 0.42535044, 0.825044},
			{5, 14, 2, 0.5714286, 0.1079898, 0.33797695, 0.749241},
			{8, 12, 4, 0.3809524, 0.1059712, 0.18306655, 0.577789},
			{11, 8, 2, 0.2857143, 0.0985808, 0.11656133, 0.481820},
			{12, 6, 2, 0.1904762, 0.0856891, 0.05948170, 0.377435},
			{15, 4, 1, 0.1428571, 0.0763604, 0.03565736, 0.321162},
			{17, 3, 1, 0.0952381, 0.0640564, 0.01625926, 0.261250},
			{22, 2, 1, 0.0476190, 0.0464714, 0.00332446, 0.197045},
			{23, 1, 1, 0, math.NaN(), math.NaN(), math.NaN()},
		}},
		// R: summary(survfit(Surv(futime, fustat) ~ rx, data = ovarian,
		// conf.type = "log-log")), rx = 2, digits = 8.
		{"ovarian rx=2", ovarian2, 5e-8, []kmRow{
			{353, 13, 1, 0.92307692, 0.073905302, 0.56635947, 0.98879406},
			{365, 12, 1, 0.84615385, 0.100068252, 0.51220359, 0.95914546},
			{464, 9, 1, 0.75213675, 0.125575088, 0.40717002, 0.91366170},
			{475, 8, 1, 0.65811966, 0.140739232, 0.32002994, 0.85759281},
			{563, 7, 1, 0.56410256, 0.148757996, 0.24363470, 0.79284818},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			km, err := NewKaplanMeier(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			var events []Step
			for _, st := range km.Steps {
				if st.Events > 0 {
					events = append(events, st)
				}
			}
			if len(events) != len(tt.rows) {
				t.Fatalf("got %d event rows, want %d", len(events), len(tt.rows))
			}
			for i, w := range tt.rows {
				g := events[i]
				lo, hi, ok, err := km.CI(w.time, 0.95)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					lo, hi = math.NaN(), math.NaN()
				}
				if g.Time != w.time || g.AtRisk != w.atRisk || g.Events != w.events ||
					!near(g.Survival, w.surv, tt.tol) || !near(math.Sqrt(g.Variance), w.se, tt.tol) ||
					!near(lo, w.lo, tt.tol) || !near(hi, w.hi, tt.tol) {
					t.Errorf("row %d: got t=%v n=%d d=%d S=%.8f se=%.8f CI [%.8f, %.8f], want %+v",
						i, g.Time, g.AtRisk, g.Events, g.Survival, math.Sqrt(g.Variance), lo, hi, w)
				}
			}
			if km.N != len(tt.s.Times) {
				t.Errorf("got N = %d, want %d", km.N, len(tt.s.Times))
			}
		})
	}
}

// TestKaplanMeierTable checks the full step table, censored rows
// included, on the 6-MP arm: at 6 weeks three relapses and one censoring
// tie, and the censored run still counts as at risk at 6.
func TestKaplanMeierTable(t *testing.T) {
	km, err := NewKaplanMeier(gehan6MP)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		time                     float64
		atRisk, events, censored int
	}{
		{6, 21, 3, 1}, {7, 17, 1, 0}, {9, 16, 0, 1}, {10, 15, 1, 1}, {11, 13, 0, 1},
		{13, 12, 1, 0}, {16, 11, 1, 0}, {17, 10, 0, 1}, {19, 9, 0, 1}, {20, 8, 0, 1},
		{22, 7, 1, 0}, {23, 6, 1, 0}, {25, 5, 0, 1}, {32, 4, 0, 2}, {34, 2, 0, 1}, {35, 1, 0, 1},
	}
	if len(km.Steps) != len(want) {
		t.Fatalf("got %d steps, want %d", len(km.Steps), len(want))
	}
	for i, w := range want {
		g := km.Steps[i]
		if g.Time != w.time || g.AtRisk != w.atRisk || g.Events != w.events || g.Censored != w.censored {
			t.Errorf("step %d: got (%v, %d, %d, %d), want %+v", i, g.Time, g.AtRisk, g.Events, g.Censored, w)
		}
	}
	if km.Events != 9 {
		t.Errorf("got %d events, want 9", km.Events)
	}
	at := []struct{ t, want float64 }{
		{-1, 1}, {0, 1}, {5.99, 1}, {6, 0.857142857}, {6.5, 0.857142857}, {9, 0.806722689},
		{23, 0.448179272}, {30, 0.448179272}, {1000, 0.448179272},
	}
	if got := km.At(math.NaN()); !math.IsNaN(got) {
		t.Errorf("S(NaN) = %v, want NaN", got)
	}
	for _, a := range at {
		if got := km.At(a.t); !near(got, a.want, 1e-8) {
			t.Errorf("S(%v) = %v, want %v", a.t, got, a.want)
		}
	}
}

func TestKaplanMeierMedianPublished(t *testing.T) {
	r := ReachedAt
	nr := SurvivalTime{}
	tests := []struct {
		name string
		s    Sample
		want Median
	}{
		// R: print(survfit(Surv(time, cens) ~ treat, data = MASS::gehan,
		// conf.type = "log-log")): "6-MP 21 9 23 13 NA", "control 21 21 8
		// 4 11". (With R's default conf.type = "log": 23 (16, NA) and
		// 8 (4, 12); we use log-log.)
		{"Gehan 6-MP", gehan6MP, Median{r(23), r(13), nr, 0.95}},
		{"Gehan placebo", gehanPlacebo, Median{r(8), r(4), r(11), 0.95}},
		// R: print(survfit(Surv(futime, fustat) ~ rx, data = ovarian,
		// conf.type = "log-log")): "rx=1 13 7 638 156 NA", "rx=2 13 5 NA
		// 464 NA": the median is not reached but its lower bound is.
		{"ovarian rx=1", ovarian1, Median{r(638), r(156), nr, 0.95}},
		{"ovarian rx=2", ovarian2, Median{nr, r(464), nr, 0.95}},
		// The following rows are R's print(survfit(Surv(t, e) ~ 1,
		// conf.type = "log-log")) on tiny samples.
		// One failure: median 5, no interval (R: 5 NA NA).
		{"single failure", Sample{[]float64{5}, []bool{true}}, Median{r(5), nr, nr, 0.95}},
		// S is exactly ½ from 2 to the next event at 3: the midpoint
		// 2.5, as for an uncensored median (R: 2.5 1 NA).
		{"flat at one half", Sample{[]float64{1, 2, 3, 4}, allTrue(4)}, Median{r(2.5), r(1), nr, 0.95}},
		// ½ from 2 on with no later event: 2 (R: 2 1 NA).
		{"half then censored", Sample{[]float64{1, 2, 3, 4}, []bool{true, true, false, false}}, Median{r(2), r(1), nr, 0.95}},
		// Failures before censorings at a tied time (R: 2 2 NA).
		{"tied failures and censorings", Sample{[]float64{2, 2, 2, 2}, []bool{true, true, false, false}}, Median{r(2), r(2), nr, 0.95}},
		// Everything censored: nothing reached (R: NA NA NA).
		{"all censored", Sample{[]float64{3, 3, 3}, []bool{false, false, false}}, Median{nr, nr, nr, 0.95}},
	}
	for _, tt := range tests {
		km, err := NewKaplanMeier(tt.s)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := km.Median(0.95)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got median %v (%v, %v), want %v (%v, %v)", tt.name,
				got.Estimate, got.Lower, got.Upper, tt.want.Estimate, tt.want.Lower, tt.want.Upper)
		}
	}
}

func TestKaplanMeierEdges(t *testing.T) {
	errTests := []struct {
		name string
		s    Sample
		want error
	}{
		{"empty", Sample{}, ErrEmpty},
		{"length mismatch", Sample{[]float64{1, 2}, []bool{true}}, ErrLengthMismatch},
		{"NaN", Sample{[]float64{1, math.NaN()}, []bool{true, true}}, ErrNotFinite},
		{"Inf", Sample{[]float64{math.Inf(1)}, []bool{false}}, ErrNotFinite},
		{"negative", Sample{[]float64{1, -2}, []bool{true, false}}, ErrNegativeTime},
	}
	for _, tt := range errTests {
		if _, err := NewKaplanMeier(tt.s); !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}

	// All censored: S stays 1, the band is undefined, nothing is reached.
	km, err := NewKaplanMeier(Sample{[]float64{10, 10, 10}, []bool{false, false, false}})
	if err != nil {
		t.Fatal(err)
	}
	if len(km.Steps) != 1 || km.Steps[0] != (Step{Time: 10, AtRisk: 3, Censored: 3, Survival: 1}) || km.Events != 0 {
		t.Errorf("all censored: got %+v, want one step {10 3 0 3 1 0}", km.Steps)
	}
	if _, _, ok, err := km.CI(10, 0.95); ok || err != nil {
		t.Errorf("all censored: CI ok = %v, err = %v, want not ok, nil", ok, err)
	}
	m, _ := km.Median(0.95)
	if v, reached := m.Estimate.Value(); reached || v != 0 || m.Estimate.String() != "not reached" {
		t.Errorf("all censored: median %v (%v, %v), want not reached", v, reached, m.Estimate)
	}

	// A single observation, failed: S drops to 0, its variance is
	// undefined (NaN, as R prints it).
	km, err = NewKaplanMeier(Sample{[]float64{7.5}, []bool{true}})
	if err != nil {
		t.Fatal(err)
	}
	st := km.Steps[0]
	if st.Survival != 0 || !math.IsNaN(st.Variance) || km.At(7.5) != 0 || km.At(7) != 1 {
		t.Errorf("single failure: got %+v, S(7) = %v, want S = 0 at 7.5 with NaN variance, S(7) = 1", st, km.At(7))
	}
	if m, _ := km.Median(0.95); m.Estimate.String() != "7.5" {
		t.Errorf("single failure: median %v, want 7.5", m.Estimate)
	}

	for _, level := range []float64{0, 1, math.NaN()} {
		if _, err := km.Median(level); !errors.Is(err, ErrBadArgument) {
			t.Errorf("Median(%v): got error %v, want ErrBadArgument", level, err)
		}
		if _, _, _, err := km.CI(1, level); !errors.Is(err, ErrBadArgument) {
			t.Errorf("CI(1, %v): got error %v, want ErrBadArgument", level, err)
		}
	}
}

func TestSurvivalTime(t *testing.T) {
	tests := []struct {
		s       SurvivalTime
		v       float64
		reached bool
		str     string
	}{
		{ReachedAt(23), 23, true, "23"},
		{ReachedAt(0), 0, true, "0"}, // a failure at 0 is reached, unlike the zero value
		{ReachedAt(2.5), 2.5, true, "2.5"},
		{SurvivalTime{}, 0, false, "not reached"},
	}
	for _, tt := range tests {
		v, ok := tt.s.Value()
		if v != tt.v || ok != tt.reached || tt.s.Reached() != tt.reached || tt.s.String() != tt.str {
			t.Errorf("got (%v, %v, %q), want (%v, %v, %q)", v, ok, tt.s.String(), tt.v, tt.reached, tt.str)
		}
	}
}
