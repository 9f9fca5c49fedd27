package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/k8sjob"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/scenarios"
)

func newK8sCmd(st *state) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Render runs for a Kubernetes cluster",
	}
	var o k8sjob.Options
	job := &cobra.Command{
		Use:   "job FILE",
		Short: "Render a scenario's segments as a batch/v1 Indexed Job (YAML on stdout)",
		Long: `Job renders FILE as a ConfigMap (the scenario file) and a batch/v1 Job with
completionMode Indexed: load.segments pods at once, each running
'nobufs run --segment env' — its segment is its JOB_COMPLETION_INDEX — with
its results in /results/RUN-ID/segments/NN/ on the PersistentVolumeClaim
--results-claim. When every pod has ended, 'nobufs merge /results/RUN-ID'
(in a pod mounting the claim, or on a copy) folds them into one run. See
docs/distributed.md. The manifest is checked before it is printed.`,
		Example: `  nobufs k8s job --image registry.example/nobufs:v1 --results-claim nobufs-results scenarios.d/hold-100k.yaml | kubectl apply -f -`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			src, err := os.ReadFile(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			sc, err := scenarios.Parse(args[0], src)
			if err != nil {
				return err
			}
			if o.RunID == "" {
				o.RunID = sc.Name + "-" + time.Now().UTC().Format(record.TimestampLayout)
			}
			r, err := k8sjob.Render(sc, src, o)
			if err != nil {
				return usageError("%v", err)
			}
			if err := k8sjob.Check(r, sc); err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("rendered job fails its checks: %w", err)}
			}
			b, err := r.YAML()
			if err != nil {
				return err
			}
			_, err = st.stdout.Write(b)
			return err
		},
		ValidArgsFunction: yamlFiles,
	}
	job.Flags().StringVar(&o.Image, "image", "", "container image holding the nobufs binary (required)")
	job.Flags().StringVar(&o.Binary, "binary", "nobufs", "path of nobufs inside the image")
	job.Flags().StringVar(&o.Namespace, "namespace", "", "namespace of the Job and ConfigMap")
	job.Flags().StringVar(&o.ResultsClaim, "results-claim", "", "PersistentVolumeClaim (ReadWriteMany) mounted at /results in every pod (required)")
	job.Flags().StringVar(&o.RunID, "run-id", "", "the run's directory under /results (default <scenario>-<UTC time>)")
	cmd.AddCommand(job)
	return cmd
}
