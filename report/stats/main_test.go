package stats

import (
	"math"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is still running when they end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// near reports whether got is within tol of want, absolutely or, for
// large values, relatively.
func near(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	d := math.Abs(got - want)
	return d <= tol || d <= tol*math.Abs(want)
}
