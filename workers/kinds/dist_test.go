package kinds

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/targets"
)

// TestDraw checks each distribution's sample mean against its true mean
// (a fixed seed, so the check is deterministic) and the clamping.
func TestDraw(t *testing.T) {
	const n = 200_000
	tests := []struct {
		spec     string
		duration bool
		hi       float64
		wantMean float64
		wantMin  float64 // every draw is at least this
	}{
		// fixed: always the value.
		{"fixed(4096)", false, targets.ChurnMaxBurst, 4096, 4096},
		// uniform: mean of the ends.
		{"uniform(1s, 3s)", true, float64(time.Hour), float64(2 * time.Second), float64(time.Second)},
		// exponential: the mean is the argument.
		{"exponential(2048)", false, targets.ChurnMaxBurst, 2048, 0},
		// lognormal(median, sigma): mean median·exp(sigma²/2).
		{"lognormal(1s, 0.5)", true, float64(time.Hour), float64(time.Second) * math.Exp(0.125), 0},
		// pareto(min, alpha): mean min·alpha/(alpha-1), never below min.
		{"pareto(100ms, 3)", true, float64(time.Hour), float64(150 * time.Millisecond), float64(100 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			b := scenarios.Bounds["churn.send"]
			if tt.duration {
				b = scenarios.Bounds["churn.lifetime"]
			}
			d, err := scenarios.ParseDist(tt.spec, tt.duration, b)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			var sum float64
			for range n {
				x := draw(d, r, tt.hi)
				if x < tt.wantMin || x > tt.hi {
					t.Fatalf("draw = %v, want within [%v, %v]", x, tt.wantMin, tt.hi)
				}
				sum += x
			}
			if got := sum / n; math.Abs(got-tt.wantMean) > 0.02*tt.wantMean {
				t.Errorf("mean of %d draws = %.4g, want %.4g ±2%%", n, got, tt.wantMean)
			}
		})
	}
	// A heavy tail is clamped to the field's bound.
	d := scenarios.Dist{Name: scenarios.DistPareto, A: 1000, B: 0.1}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		if x := draw(d, r, 5000); x > 5000 {
			t.Fatalf("draw = %v, want clamped to 5000", x)
		}
	}
}
