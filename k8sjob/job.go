// Package k8sjob renders a scenario split into segments (load.segments)
// as a Kubernetes batch/v1 Job in Indexed completion mode: one pod per
// segment, each running `nobufs run --segment env` (its segment is its
// JOB_COMPLETION_INDEX) with its results on a shared volume, merged
// afterwards with `nobufs merge` (docs/distributed.md). Kubernetes is not
// needed to render or check a Job: Check applies, offline, the rules of
// the API server that concern what nobufs renders.
package k8sjob

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/nobufs/nobufs/scenarios"
)

// Paths inside the pods.
const (
	ScenarioDir = "/scenario"
	ResultsDir  = "/results"
	// ScenarioKey is the ConfigMap key (and file name) of the scenario.
	ScenarioKey = "scenario.yaml"
)

// Options say where the Job runs and what it mounts.
type Options struct {
	// Image is the container image with the nobufs binary at Binary.
	Image string
	// Binary is the path of nobufs in the image; "" is "nobufs" (PATH).
	Binary string
	// Namespace is the Job's namespace; "" leaves it to kubectl.
	Namespace string
	// ResultsClaim is the PersistentVolumeClaim (ReadWriteMany) mounted at
	// ResultsDir in every pod.
	ResultsClaim string
	// RunID names the run's directory on the volume (ResultsDir/RunID).
	RunID string
}

// Rendered is what Render makes: the ConfigMap carrying the scenario
// file and the Job.
type Rendered struct {
	ConfigMap *corev1.ConfigMap
	Job       *batchv1.Job
	// RunDir is where the merged run will be on the volume, for
	// `nobufs merge`.
	RunDir string
}

var dnsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Name is the Job's name for a scenario: nobufs-<name>, a DNS label.
func Name(sc *scenarios.Scenario) string {
	n := "nobufs-" + strings.Trim(dnsUnsafe.ReplaceAllString(sc.Name, "-"), "-")
	if len(n) > 52 { // room for the pods' suffixes (63)
		n = strings.TrimRight(n[:52], "-")
	}
	return n
}

// Render makes the Job for sc, whose file contents are src. A scenario
// with a lab cell runs as one pod with the capabilities a cell needs
// (cells are not split into segments).
func Render(sc *scenarios.Scenario, src []byte, o Options) (*Rendered, error) {
	if o.Image == "" {
		return nil, errors.New("k8s job: an image is required (--image)")
	}
	if o.ResultsClaim == "" {
		return nil, errors.New("k8s job: a PersistentVolumeClaim for the results is required (--results-claim)")
	}
	if o.RunID == "" || strings.ContainsAny(o.RunID, "/ ") {
		return nil, fmt.Errorf("k8s job: run id %q: want a directory name", o.RunID)
	}
	bin := o.Binary
	if bin == "" {
		bin = "nobufs"
	}
	n := int32(max(sc.Load.Segments, 1))
	name := Name(sc)
	labels := map[string]string{"app.kubernetes.io/name": "nobufs", "nobufs/scenario": dnsUnsafe.ReplaceAllString(sc.Name, "-")}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-scenario", Namespace: o.Namespace, Labels: labels},
		Data:       map[string]string{ScenarioKey: string(src)},
	}
	runDir := path.Join(ResultsDir, o.RunID)
	args := []string{"run", "--quiet", "--out", runDir}
	if n > 1 {
		args = append(args, "--segment", "env")
	} else {
		args = []string{"run", "--quiet", "--out", ResultsDir}
	}
	args = append(args, path.Join(ScenarioDir, ScenarioKey))
	sec := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	if sc.Cell != nil {
		// A lab cell makes network namespaces and veths and writes their
		// sysctls (docs/lab.md).
		sec.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "SYS_ADMIN"}
	}
	zero := int32(0)
	never := corev1.RestartPolicyNever
	indexed := batchv1.IndexedCompletion
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode: &indexed,
			Completions:    &n,
			Parallelism:    &n,
			// A segment is not retried: a second try would find its
			// results directory taken. A failed segment leaves the merged
			// run partial; the others run to their end.
			BackoffLimitPerIndex: &zero,
			MaxFailedIndexes:     &n,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: never,
					Containers: []corev1.Container{{
						Name:  "nobufs",
						Image: o.Image,
						// JOB_COMPLETION_INDEX is set by the Job controller in
						// Indexed mode; --segment env reads it.
						Command:         []string{bin},
						Args:            args,
						SecurityContext: sec,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "scenario", MountPath: ScenarioDir, ReadOnly: true},
							{Name: "results", MountPath: ResultsDir},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "scenario", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
						{Name: "results", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.ResultsClaim}}},
					},
				},
			},
		},
	}
	if n == 1 {
		job.Spec.BackoffLimitPerIndex, job.Spec.MaxFailedIndexes = nil, nil
		job.Spec.BackoffLimit = &zero
	}
	return &Rendered{ConfigMap: cm, Job: job, RunDir: runDir}, nil
}

// YAML writes the ConfigMap and the Job as one multi-document YAML
// stream, for kubectl apply -f.
func (r *Rendered) YAML() ([]byte, error) {
	var out bytes.Buffer
	for i, obj := range []any{r.ConfigMap, r.Job} {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

// Decode reads a stream YAML wrote, strictly: an unknown field anywhere
// (a misspelt or invented one) is an error, as the API server's strict
// field validation would make it.
func Decode(b []byte) (*Rendered, error) {
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != 2 {
		return nil, fmt.Errorf("want 2 documents (ConfigMap, Job), got %d", len(docs))
	}
	r := &Rendered{ConfigMap: &corev1.ConfigMap{}, Job: &batchv1.Job{}}
	if err := yaml.UnmarshalStrict([]byte(docs[0]), r.ConfigMap); err != nil {
		return nil, fmt.Errorf("configmap: %w", err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), r.Job); err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	return r, nil
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Check applies, offline, the API server's rules for what Render makes
// and what nobufs needs of it, and returns every problem found.
func Check(r *Rendered, sc *scenarios.Scenario) error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	j, cm := r.Job, r.ConfigMap
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		bad("job: apiVersion/kind %s/%s, want batch/v1/Job", j.APIVersion, j.Kind)
	}
	if !dns1123.MatchString(j.Name) || len(j.Name) > 63 {
		bad("job: name %q is not a DNS-1123 label", j.Name)
	}
	if !dns1123.MatchString(cm.Name) {
		bad("configmap: name %q is not a DNS-1123 label", cm.Name)
	}
	s := j.Spec
	want := int32(max(sc.Load.Segments, 1))
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		bad("job: completionMode must be Indexed (JOB_COMPLETION_INDEX selects the segment)")
	}
	if s.Completions == nil || *s.Completions != want || s.Parallelism == nil || *s.Parallelism != want {
		bad("job: completions and parallelism must both be %d (load.segments): every segment runs at once", want)
	}
	if s.BackoffLimitPerIndex == nil && s.BackoffLimit == nil {
		bad("job: set backoffLimitPerIndex (or backoffLimit): a retried segment would find its directory taken")
	}
	if s.BackoffLimitPerIndex != nil && (s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion) {
		bad("job: backoffLimitPerIndex needs completionMode Indexed")
	}
	if s.MaxFailedIndexes != nil && (s.BackoffLimitPerIndex == nil || s.Completions == nil || *s.MaxFailedIndexes > *s.Completions) {
		bad("job: maxFailedIndexes needs backoffLimitPerIndex and at most completions")
	}
	p := s.Template.Spec
	if p.RestartPolicy != corev1.RestartPolicyNever && p.RestartPolicy != corev1.RestartPolicyOnFailure {
		bad("job: a Job's pods need restartPolicy Never or OnFailure, got %q", p.RestartPolicy)
	}
	if s.BackoffLimitPerIndex != nil && p.RestartPolicy != corev1.RestartPolicyNever {
		bad("job: backoffLimitPerIndex needs restartPolicy Never")
	}
	if len(p.Containers) != 1 {
		bad("job: want one container, got %d", len(p.Containers))
		return errors.Join(errs...)
	}
	c := p.Containers[0]
	if c.Image == "" {
		bad("job: the container has no image")
	}
	vols := map[string]corev1.Volume{}
	for _, v := range p.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			bad("job: volume mount %q names no volume", m.Name)
		}
	}
	if v, ok := vols["scenario"]; !ok || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		bad("job: the scenario volume must be the ConfigMap %q", cm.Name)
	}
	if _, ok := cm.Data[ScenarioKey]; !ok {
		bad("configmap: no %s key", ScenarioKey)
	}
	if v, ok := vols["results"]; !ok || v.PersistentVolumeClaim == nil {
		bad("job: the results volume must be a PersistentVolumeClaim shared by every pod")
	}
	segEnv := slices.Contains(c.Args, "--segment") && slices.Contains(c.Args, "env")
	if want > 1 && !segEnv {
		bad("job: %d segments need the container to run --segment env", want)
	}
	var add []corev1.Capability
	if c.SecurityContext != nil && c.SecurityContext.Capabilities != nil {
		add = c.SecurityContext.Capabilities.Add
	}
	needCaps := sc.Cell != nil
	for _, capName := range []corev1.Capability{"NET_ADMIN", "SYS_ADMIN"} {
		has := slices.Contains(add, capName)
		if needCaps && !has {
			bad("job: a lab cell needs capability %s", capName)
		}
		if !needCaps && has {
			bad("job: capability %s is given but the scenario has no lab cell", capName)
		}
	}
	return errors.Join(errs...)
}
