package k8sjob

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/nobufs/nobufs/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func shipped(t *testing.T, name string) (*scenarios.Scenario, []byte) {
	t.Helper()
	f := filepath.Join("..", "scenarios.d", name)
	src, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.LoadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return sc, src
}

var opts = Options{Image: "registry.example/nobufs:dev", ResultsClaim: "nobufs-results", RunID: "hold-100k-1", Namespace: "load"}

// TestRenderDecodesStrictly: the rendered stream decodes into the
// k8s.io/api types with unknown fields disallowed, passes Check, and says
// what the segments need: 12 indexed pods at once, never retried, each
// running its segment from JOB_COMPLETION_INDEX into one run directory.
func TestRenderDecodesStrictly(t *testing.T) {
	sc, src := shipped(t, "hold-100k.yaml")
	r, err := Render(sc, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("strict decode of the rendered job: %v\n%s", err, b)
	}
	if err := Check(got, sc); err != nil {
		t.Errorf("Check: %v", err)
	}
	s := got.Job.Spec
	if *s.Completions != 12 || *s.Parallelism != 12 || *s.CompletionMode != batchv1.IndexedCompletion || *s.BackoffLimitPerIndex != 0 {
		t.Errorf("spec: completions %d, parallelism %d, mode %s, backoffLimitPerIndex %d; want 12, 12, Indexed, 0",
			*s.Completions, *s.Parallelism, *s.CompletionMode, *s.BackoffLimitPerIndex)
	}
	c := s.Template.Spec.Containers[0]
	if got, want := strings.Join(c.Args, " "), "run --quiet --out /results/hold-100k-1 --segment env /scenario/scenario.yaml"; got != want {
		t.Errorf("args %q, want %q", got, want)
	}
	if got.ConfigMap.Data[ScenarioKey] != string(src) {
		t.Errorf("the ConfigMap does not carry the scenario file as it is")
	}
	if c.SecurityContext.Capabilities.Add != nil {
		t.Errorf("capabilities %v added to a scenario without a cell", c.SecurityContext.Capabilities.Add)
	}
}

// TestDecodeRejectsUnknownFields: a misspelt field is an error, not
// silently dropped.
func TestDecodeRejectsUnknownFields(t *testing.T) {
	sc, src := shipped(t, "hold-100k.yaml")
	r, _ := Render(sc, src, opts)
	b, _ := r.YAML()
	bad := strings.Replace(string(b), "completionMode:", "completionMod:", 1)
	if _, err := Decode([]byte(bad)); err == nil {
		t.Errorf("a job with completionMod decoded without error")
	}
}

// TestCheck: the offline rules catch what would not run as intended.
func TestCheck(t *testing.T) {
	sc, src := shipped(t, "hold-100k.yaml")
	cell, cellSrc := shipped(t, "port-range-cell.yaml")
	for _, tc := range []struct {
		name  string
		sc    *scenarios.Scenario
		src   []byte
		edit  func(r *Rendered)
		wants string // a substring of the error; "" no error
	}{
		{"as rendered", sc, src, func(*Rendered) {}, ""},
		{"cell as rendered", cell, cellSrc, func(*Rendered) {}, ""},
		{"completions", sc, src, func(r *Rendered) { n := int32(11); r.Job.Spec.Completions = &n }, "completions and parallelism"},
		{"non-indexed", sc, src, func(r *Rendered) { m := batchv1.NonIndexedCompletion; r.Job.Spec.CompletionMode = &m }, "Indexed"},
		{"restart always", sc, src, func(r *Rendered) { r.Job.Spec.Template.Spec.RestartPolicy = "Always" }, "restartPolicy"},
		{"no backoff limit", sc, src, func(r *Rendered) {
			r.Job.Spec.BackoffLimitPerIndex, r.Job.Spec.MaxFailedIndexes, r.Job.Spec.BackoffLimit = nil, nil, nil
		}, "backoffLimitPerIndex"},
		{"caps without cell", sc, src, func(r *Rendered) {
			c := &r.Job.Spec.Template.Spec.Containers[0]
			c.SecurityContext.Capabilities.Add = cell2caps()
		}, "no lab cell"},
		{"cell without caps", cell, cellSrc, func(r *Rendered) {
			r.Job.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add = nil
		}, "needs capability NET_ADMIN"},
		{"no segment env", sc, src, func(r *Rendered) {
			r.Job.Spec.Template.Spec.Containers[0].Args = []string{"run", "/scenario/scenario.yaml"}
		}, "--segment env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Render(tc.sc, tc.src, opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(r)
			err = Check(r, tc.sc)
			switch {
			case tc.wants == "" && err != nil:
				t.Errorf("Check: %v, want no error", err)
			case tc.wants != "" && (err == nil || !strings.Contains(err.Error(), tc.wants)):
				t.Errorf("Check: %v, want an error about %q", err, tc.wants)
			}
		})
	}
}

func cell2caps() []corev1.Capability { return []corev1.Capability{"NET_ADMIN", "SYS_ADMIN"} }
