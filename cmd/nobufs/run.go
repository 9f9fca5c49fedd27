package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/runner"
	"github.com/nobufs/nobufs/schema"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/lab/vmlab"
	"github.com/nobufs/nobufs/report"
	"github.com/nobufs/nobufs/scenarios"
)

type runOptions struct {
	st        *state
	files     []string
	out       string
	quiet     bool
	allow     []string
	sample    time.Duration
	stopFile  string
	hostState bool
	report    reportOptions
	segments  int
	segment   string
}

func newRunCmd(st *state, runF func(context.Context, *runOptions) error) *cobra.Command {
	opts := &runOptions{st: st}
	cmd := &cobra.Command{
		Use:   "run FILE...",
		Short: "Run scenario files and record their results",
		Long: `Run validates every FILE first (nothing runs if one is bad), then runs them
in order. Each run writes results/<scenario>/<UTC timestamp>/ (or under
--out) and prints a short summary. Each run directory also gets report.html,
one offline page with the plots (SVG and PNG under plots/), timeline.csv and
runs.csv (docs/report.md); --no-report leaves them out.

Exit status: 0 every run met its expectations, 1 a run did not (see the
scenario's expect and thresholds sections), 2 bad input, 3 internal or environment error,
130 interrupted (the summary is still written, marked interrupted).`,
		Example: `  nobufs run scenarios.d/port-exhaustion.yaml
  nobufs run --out /tmp/results --quiet scenarios.d/*.yaml
  nobufs run --allow-target 192.0.2.10/32 my-real-server.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.files = args
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runRun(c.Context(), opts)
		},
		ValidArgsFunction: yamlFiles,
	}
	cmd.Flags().StringVar(&opts.out, "out", "results", "directory to put results under")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "print no progress line")
	cmd.Flags().StringSliceVar(&opts.allow, "allow-target", nil, "allow external targets in this CIDR (repeatable); loopback is always allowed")
	cmd.Flags().StringVar(&opts.stopFile, "stop-file", "", "stop the run (as if interrupted) once this file exists: a kill switch for supervisors")
	cmd.Flags().DurationVar(&opts.sample, "sample-every", time.Second, "timeline sampling interval")
	_ = cmd.Flags().MarkHidden("sample-every")
	addReportFlags(cmd, &opts.report, false)
	cmd.Flags().IntVar(&opts.segments, "segments", 0, "run each scenario as this many worker processes (execution segments, docs/distributed.md) and merge their results; overrides load.segments")
	cmd.Flags().StringVar(&opts.segment, "segment", "", "run only segment I/N of the scenario into --out/segments/NN (what each segment process or Indexed Job pod runs; \"env\": I from $JOB_COMPLETION_INDEX, N from load.segments)")
	_ = cmd.Flags().MarkHidden("segment")
	cmd.Flags().BoolVar(&opts.hostState, "host-state", runtime.GOOS == "linux", "record the kernel's socket state (TCP states, socket memory, counters, qdisc drops, fds) in every timeline sample (Linux)")
	return cmd
}

func yamlFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

func parseAllow(cidrs []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, usageError("--allow-target %q: want a CIDR such as 192.0.2.0/24", s)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// loadAll loads and validates every file, reporting all problems at once.
func loadAll(files []string) ([]*scenarios.Scenario, error) {
	var all scenarios.Problems
	var scs []*scenarios.Scenario
	for _, f := range files {
		sc, err := scenarios.LoadFile(f)
		if err == nil {
			err = schema.CheckScenario(sc, f) // threshold paths into summary.json
		}
		var ps scenarios.Problems
		if errors.As(err, &ps) {
			all = append(all, ps...)
			continue
		} else if err != nil {
			return nil, err
		}
		scs = append(scs, sc)
	}
	if len(all) > 0 {
		return nil, all
	}
	return scs, nil
}

func runRun(ctx context.Context, o *runOptions) error {
	if o.out == "" {
		return usageError("--out \"\": give a directory (an empty one would write into the current directory)")
	}
	allow, err := parseAllow(o.allow)
	if err != nil {
		return err
	}
	if o.hostState && !hoststate.Supported() {
		return usageError("--host-state: %v", hoststate.ErrUnsupported)
	}
	scs, err := loadAll(o.files)
	if err != nil {
		return err
	}
	if o.segments != 0 {
		for i, sc := range scs {
			sc.Load.Segments = o.segments
			if err := scenarios.Validate(sc); err != nil {
				return usageError("--segments %d: %s: %v", o.segments, o.files[i], err)
			}
		}
	}
	for i, sc := range scs {
		if sc.Cell != nil {
			if err := lab.Check(); err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("%s: %w", o.files[i], err)}
			}
		}
		if sc.VM != nil {
			if err := (vmlab.Placement{}).Check(sc); err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("%s: %w", o.files[i], err)}
			}
		}
		if err := checkTarget(sc, allow); err != nil {
			return fmt.Errorf("%s: %w", o.files[i], err)
		}
	}
	if o.stopFile != "" {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		done := watchStopFile(ctx, o.stopFile, stop)
		defer func() { stop(); <-done }()
	}
	code := exitOK
	for i, sc := range scs {
		if ctx.Err() != nil {
			// Interrupted before this run started: it and the rest do not run.
			fmt.Fprintf(o.st.stderr, "nobufs: interrupted; not run: %s\n", strings.Join(o.files[i:], " "))
			code = exitInterrupted
			break
		}
		sum, dir, err := runOne(ctx, o, sc, allow)
		if err != nil && sum == nil {
			return fmt.Errorf("%s: %w", o.files[i], err)
		}
		if terr := report.Text(o.st.stdout, sum); terr != nil {
			return terr
		}
		fmt.Fprintf(o.st.stdout, "%-17s%s\n", "results", dir)
		if err != nil {
			// The run happened but its record is incomplete: shown above,
			// and, when summary.json is what was lost, in full below.
			var se *record.SummaryError
			if errors.As(err, &se) {
				fmt.Fprintf(o.st.stderr, "nobufs: %s: summary.json not saved: %v; the summary follows as JSON:\n", o.files[i], err)
				b, _ := json.MarshalIndent(sum, "", "  ")
				fmt.Fprintf(o.st.stderr, "%s\n", b)
			}
			return &exitError{code: exitInternal, err: fmt.Errorf("%s: %w", o.files[i], err)}
		}
		if err := writeRunReport(o.st, dir, sum, o.report); err != nil {
			return fmt.Errorf("%s: %w", o.files[i], err)
		}
		if i < len(scs)-1 {
			fmt.Fprintln(o.st.stdout)
		}
		switch sum.Status {
		case schema.StatusInterrupted:
			code = exitInterrupted
		case schema.StatusFailed:
			code = max(code, exitFailed)
		}
	}
	if code != exitOK {
		return silentExit(code)
	}
	return nil
}

func runOne(ctx context.Context, o *runOptions, sc *scenarios.Scenario, allow []netip.Prefix) (*schema.Summary, string, error) {
	pl := newProgressLine(o.st, o.quiet, sc.Name)
	sum, dir, err := runner.Run(ctx, sc, runner.Options{
		Out:          o.out,
		AllowTargets: allow,
		ToolVersion:  version,
		SampleEvery:  o.sample,
		HostState:    o.hostState,
		Progress:     pl.update,
		Created:      o.st.status.dir,
		Segment:      o.segment,
		SegmentCmd:   selfCommand,
	})
	pl.clear()
	if errors.Is(err, runner.ErrRecord) {
		return sum, dir, &exitError{code: exitInternal, err: err}
	}
	return sum, dir, err
}

// selfCommand runs this binary again with args: a segment process.
func selfCommand(ctx context.Context, args []string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return exec.CommandContext(ctx, self, args...)
}

// watchStopFile cancels the run once path exists, checking five times a
// second until ctx ends. The returned channel closes when it has stopped.
func watchStopFile(ctx context.Context, path string, stop context.CancelFunc) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if _, err := os.Stat(path); err == nil {
				stop()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}
