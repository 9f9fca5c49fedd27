package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any bytes give a valid scenario or Problems, never a panic;
// every problem has a position; an accepted scenario validates again.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/invalid", "../scenarios.d"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("name: x\nkind: port-exhaustion\nload: {model: open, rate: 1, stages: [{duration: 1s, target: 2}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("f.yaml", data)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %v (%T) is not Problems", err, err)
			}
			for _, p := range ps {
				if p.Line < 1 || p.Column < 1 {
					t.Errorf("problem without a position: %+v", p)
				}
			}
			return
		}
		if err := Validate(sc); err != nil {
			t.Errorf("accepted scenario fails validation: %v", err)
		}
	})
}
