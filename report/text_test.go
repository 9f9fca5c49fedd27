package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nobufs/nobufs/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestText renders each summary in testdata/*.json and compares it with
// its golden .txt (refresh with go test ./report -update).
func TestText(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var s schema.Summary
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Text(&out, &s); err != nil {
				t.Fatal(err)
			}
			golden := f[:len(f)-len(".json")] + ".txt"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
