package kinds

import (
	"math"
	"math/rand/v2"

	"github.com/nobufs/nobufs/scenarios"
)

// draw returns one value of d, clamped to [0, hi]. Scale arguments are in
// the unit of the field (nanoseconds or bytes).
func draw(d scenarios.Dist, r *rand.Rand, hi float64) float64 {
	var x float64
	switch d.Name {
	case scenarios.DistFixed:
		x = d.A
	case scenarios.DistUniform:
		x = d.A + r.Float64()*(d.B-d.A)
	case scenarios.DistExponential:
		x = r.ExpFloat64() * d.A
	case scenarios.DistLognormal:
		x = d.A * math.Exp(d.B*r.NormFloat64())
	case scenarios.DistPareto:
		// Inverse transform: 1-U is in (0, 1], so x >= MIN and finite.
		x = d.A / math.Pow(1-r.Float64(), 1/d.B)
	}
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, hi)
}
