package segment

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestScaleTiles: the shares of segments that tile (0, 1] add up to the
// count, for counts and segment numbers where rounding matters.
func TestScaleTiles(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 12, 100} {
		for _, v := range []uint64{0, 1, 2, 5, 10, 99, 100, 256, 100000, 1e10} {
			var sum uint64
			for i := range n {
				s, err := Of(i, n)
				if err != nil {
					t.Fatal(err)
				}
				sum += s.Scale(v)
			}
			if sum != v {
				t.Errorf("%d segments of %d: shares add up to %d, want %d", n, v, sum, v)
			}
		}
	}
}

// TestGlobalPartitions: the global indices owned by the segments are
// exactly 1..v, each once, and segment i's first Ops(v) indices are the
// ones up to v.
func TestGlobalPartitions(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 12} {
		for _, v := range []uint64{0, 1, 7, 1000, 1001} {
			seen := make([]int, v+1)
			for i := range n {
				s, _ := Of(i, n)
				k := s.Ops(v)
				prev := uint64(0)
				for j := uint64(1); j <= k; j++ {
					g := s.Global(j)
					if g <= prev || g > v {
						t.Fatalf("%d segments, segment %d: op %d is global %d (previous %d), want increasing within 1..%d", n, i, j, g, prev, v)
					}
					prev = g
					seen[g]++
				}
				if g := s.Global(k + 1); g <= v {
					t.Errorf("%d segments, segment %d: op %d (one past its share) is global %d, want > %d", n, i, k+1, g, v)
				}
			}
			for g := uint64(1); g <= v; g++ {
				if seen[g] != 1 {
					t.Errorf("%d segments: global op %d owned %d times, want 1", n, g, seen[g])
				}
			}
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"0/1", "(0/1, 1/1]", false},
		{"2/3", "(2/3, 3/3]", false},
		{"3/3", "", true},
		{"-1/3", "", true},
		{"1/0", "", true},
		{"x", "", true},
		{"0/1001", "", true},
	} {
		s, err := Parse(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Parse(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && s.String() != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
}

func TestWhole(t *testing.T) {
	if got := Whole.Scale(17); got != 17 {
		t.Errorf("Whole.Scale(17) = %d, want 17", got)
	}
	if got := Whole.Global(17); got != 17 {
		t.Errorf("Whole.Global(17) = %d, want 17", got)
	}
	var zero Segment
	if !zero.IsWhole() || zero.Scale(5) != 5 || zero.Global(5) != 5 {
		t.Errorf("the zero Segment is not the whole run")
	}
}
