package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Distribution names, as written in a file: NAME(ARGS).
const (
	// DistFixed is fixed(X): always X.
	DistFixed = "fixed"
	// DistUniform is uniform(LO, HI): uniform between LO and HI.
	DistUniform = "uniform"
	// DistExponential is exponential(MEAN).
	DistExponential = "exponential"
	// DistLognormal is lognormal(MEDIAN, SIGMA): exp of a normal with
	// mean ln(MEDIAN) and standard deviation SIGMA.
	DistLognormal = "lognormal"
	// DistPareto is pareto(MIN, ALPHA): heavy-tailed, never below MIN; the
	// mean is MIN·ALPHA/(ALPHA-1) for ALPHA > 1.
	DistPareto = "pareto"
)

// DistNames lists the distributions, in documentation order.
var DistNames = []string{DistFixed, DistUniform, DistExponential, DistLognormal, DistPareto}

// Dist is a parsed distribution. A and B are its arguments: for durations
// in nanoseconds, for sizes in bytes; the shape arguments of lognormal
// (SIGMA) and pareto (ALPHA) are plain numbers in B.
type Dist struct {
	Name string
	A, B float64
}

// shapeMax bounds the shape arguments (lognormal SIGMA, pareto ALPHA).
const shapeMax = 10

// ParseDist reads a distribution such as "exponential(2s)" or
// "uniform(1024, 65536)". With duration, scale arguments are durations
// (500ms, 2s; a bare 0 is zero), else non-negative integers (bytes). Scale
// arguments must lie within b.
func ParseDist(s string, duration bool, b Bound) (Dist, error) {
	s = strings.TrimSpace(s)
	unit := "a byte count such as 4096"
	if duration {
		unit = "a duration such as 2s"
	}
	syntax := fmt.Sprintf("want NAME(ARGS) with NAME one of %s, e.g. exponential(%s)", strings.Join(DistNames, ", "), map[bool]string{true: "2s", false: "4096"}[duration])
	name, rest, ok := strings.Cut(s, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return Dist{}, fmt.Errorf("%q: %s", s, syntax)
	}
	name = strings.TrimSpace(name)
	var args []string
	for a := range strings.SplitSeq(strings.TrimSuffix(rest, ")"), ",") {
		args = append(args, strings.TrimSpace(a))
	}
	want := map[string]int{DistFixed: 1, DistUniform: 2, DistExponential: 1, DistLognormal: 2, DistPareto: 2}
	n, known := want[name]
	if !known {
		return Dist{}, fmt.Errorf("%q: unknown distribution %q (allowed: %s)", s, name, strings.Join(DistNames, ", "))
	}
	if len(args) != n {
		return Dist{}, fmt.Errorf("%q: %s takes %d argument(s), got %d", s, name, n, len(args))
	}
	scale := func(a string) (float64, error) {
		var x float64
		if duration {
			var d Duration
			if err := d.UnmarshalText([]byte(a)); err != nil {
				return 0, fmt.Errorf("%q: %q is not %s", s, a, unit)
			}
			x = float64(d)
		} else {
			i, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%q: %q is not %s", s, a, unit)
			}
			x = float64(i)
		}
		if !b.ok(x) {
			got := a
			if duration {
				got = fmtDuration(time.Duration(x))
			}
			return 0, fmt.Errorf("%q: %s is out of range (allowed: %s)", s, got, b)
		}
		return x, nil
	}
	shape := func(a string) (float64, error) {
		x, err := strconv.ParseFloat(a, 64)
		if err != nil || !(x > 0 && x <= shapeMax) { // NaN fails too
			return 0, fmt.Errorf("%q: the %s shape %q must be a number above 0 and at most %d", s, name, a, shapeMax)
		}
		return x, nil
	}
	d := Dist{Name: name}
	var err error
	if d.A, err = scale(args[0]); err != nil {
		return Dist{}, err
	}
	switch name {
	case DistUniform:
		if d.B, err = scale(args[1]); err != nil {
			return Dist{}, err
		}
		if d.B < d.A {
			return Dist{}, fmt.Errorf("%q: uniform(LO, HI) needs LO <= HI", s)
		}
	case DistLognormal, DistPareto:
		if d.B, err = shape(args[1]); err != nil {
			return Dist{}, err
		}
		if name == DistPareto && d.A == 0 {
			return Dist{}, fmt.Errorf("%q: pareto(MIN, ALPHA) needs MIN > 0", s)
		}
	}
	return d, nil
}
