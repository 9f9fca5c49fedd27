package scenarios

import "testing"

// FuzzParseDist checks ParseDist never panics and that what it accepts is
// inside the field's bound, with a sane shape.
func FuzzParseDist(f *testing.F) {
	for _, s := range []string{"fixed(2s)", "uniform(1s, 3s)", "exponential(4096)", "lognormal(1s, 0.5)", "pareto(100ms, 1.5)", "pareto(1,)", "(", "uniform(,)"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, duration bool) {
		b := Bounds["churn.send"]
		if duration {
			b = Bounds["churn.lifetime"]
		}
		d, err := ParseDist(s, duration, b)
		if err != nil {
			return
		}
		if !b.ok(d.A) {
			t.Errorf("ParseDist(%q) A = %v, outside %s", s, d.A, b)
		}
		switch d.Name {
		case DistUniform:
			if !b.ok(d.B) || d.B < d.A {
				t.Errorf("ParseDist(%q) = %+v, want A <= B inside %s", s, d, b)
			}
		case DistLognormal, DistPareto:
			if !(d.B > 0 && d.B <= shapeMax) {
				t.Errorf("ParseDist(%q) shape %v, want in (0, %d]", s, d.B, shapeMax)
			}
		case DistFixed, DistExponential:
			if d.B != 0 {
				t.Errorf("ParseDist(%q) B = %v, want 0", s, d.B)
			}
		default:
			t.Errorf("ParseDist(%q) name %q", s, d.Name)
		}
	})
}
