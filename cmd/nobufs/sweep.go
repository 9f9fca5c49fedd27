package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/runner"
	"github.com/nobufs/nobufs/schema"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/lab/vmlab"
	"github.com/nobufs/nobufs/report"
	"github.com/nobufs/nobufs/sweep"
	"github.com/nobufs/nobufs/workers/program"
)

func newSweepCmd(st *state) *cobra.Command {
	var (
		out, resume string
		quiet       bool
		allow       []string
		ro          reportOptions
		parallel    int
	)
	cmd := &cobra.Command{
		Use:   "sweep FILE | --resume DIR",
		Short: "Run a scenario across values of its settings, repeatedly, and tabulate time-to-failure",
		Long: `Sweep reads a sweep file (docs/lab.md): a base scenario, axes of values for
its fields (sysctls of a lab cell, socket options, limits, shaping…) and a
number of repetitions. Every point × repetition runs in a fresh run — a
fresh lab cell when the scenario has a cell section (needs root).

Results go to results/<sweep>/<UTC timestamp>/ (or under --out): plan.json,
runs/pNNN-rN/ (each run's own results), and summary.json and summary.csv
with, per point, time-to-failure median/min/max, the failure class and code
and the operations before it, and median/min/max of each of the sweep
file's columns (numbers from each run's summary.json, such as
half_open.completed). The table is printed at the end.

An interrupted sweep (SIGINT) keeps what finished; --resume DIR runs the
rest without redoing finished runs. --parallel N runs N repetitions at once
(each has its own directory and, with a cell section, its own cell); runs
on the host share this process's descriptor limit and ports, so keep
parallel host runs to scenarios that do not exhaust them.

It also writes report.html (time to failure against the setting, survival
curves, a trend test, the plots as SVG and PNG under plots/, runs.csv) and a
page for each run; --no-report leaves them out (nobufs report DIR makes
them later).

Exit status: 0 done, 2 bad input, 3 internal or environment error (e.g. a
cell without root), 130 interrupted.`,
		Example: `  nobufs sweep scenarios.d/sweeps/port-range.sweep.yaml
  nobufs sweep --resume results/port-range/20260101T120000Z`,
		Args: func(c *cobra.Command, args []string) error {
			if (resume == "") == (len(args) == 0) || len(args) > 1 {
				return usageError("give one sweep FILE, or --resume DIR")
			}
			return nil
		},
		ValidArgsFunction: yamlFiles,
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageError("--out \"\": give a directory (an empty one would write into the current directory)")
			}
			prefixes, err := parseAllow(allow)
			if err != nil {
				return err
			}
			return runSweep(c.Context(), st, args, out, resume, quiet, prefixes, ro, parallel)
		},
	}
	addReportFlags(cmd, &ro, false)
	cmd.Flags().StringVar(&out, "out", "results", "directory to put results under")
	cmd.Flags().StringVar(&resume, "resume", "", "resume the interrupted sweep in this directory")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the table")
	cmd.Flags().StringSliceVar(&allow, "allow-target", nil, "allow external targets in this CIDR (repeatable); loopback is always allowed")
	cmd.Flags().IntVar(&parallel, "parallel", 1, "run this many repetitions at once (independent points, e.g. each in its own lab cell or VM on a bigger machine); the table is the same as a serial run's")
	return cmd
}

func runSweep(ctx context.Context, st *state, args []string, out, resume string, quiet bool, allow []netip.Prefix, ro reportOptions, parallel int) error {
	if parallel < 1 {
		return usageError("--parallel %d: want 1 or more", parallel)
	}
	opts := sweep.Options{Run: runner.Options{ToolVersion: version, HostState: hoststate.Supported(), AllowTargets: allow, SegmentCmd: selfCommand},
		Parallel: parallel, Created: st.status.dir,
		Warn: func(n string) { fmt.Fprintf(st.stderr, "nobufs: note: %s\n", n) }}
	if resume != "" {
		st.status.dir(resume)
	}
	if !quiet {
		var mu sync.Mutex // with --parallel, runs end concurrently
		opts.Done = func(point, rep int, s *schema.Summary, dir string) {
			mu.Lock()
			defer mu.Unlock()
			ttf := "no failure"
			if f := s.TimeToFailure; f != nil {
				ttf = fmt.Sprintf("%s at %.3fs after %d ok", f.Class, f.AtSec, f.OKBefore)
			}
			where := ""
			if v := s.VM; v != nil {
				where = fmt.Sprintf(", vm %dM boot %.1fs run %.1fs teardown %.3fs", v.MemoryMiB, v.BootSec, v.RunSec, v.TeardownSec)
			}
			fmt.Fprintf(st.stdout, "point %d rep %d: %s, %s%s (%s)\n", point, rep, s.Status, ttf, where, dir)
		}
	}
	var (
		sum *schema.SweepSummary
		dir = resume
		err error
	)
	if resume != "" {
		sum, err = sweep.Resume(ctx, resume, opts)
		if errors.Is(err, sweep.ErrNotSweepDir) {
			return badResults(err)
		}
	} else {
		sum, dir, err = sweep.Start(ctx, args[0], out, time.Now(), opts)
	}
	if sum != nil {
		if terr := report.SweepTable(st.stdout, sum); terr != nil {
			return terr
		}
		fmt.Fprintf(st.stdout, "results  %s\n", dir)
		if !ro.skip && ctx.Err() == nil { // interrupted: nobufs report DIR makes it later
			sw, runs, rerr := readSweep(dir)
			if rerr != nil {
				return &exitError{code: exitInternal, err: rerr}
			}
			page, rerr := makeSweepReport(dir, sw, runs, ro)
			if rerr != nil {
				return rerr
			}
			fmt.Fprintf(st.stdout, "report   %s\n", page)
		}
	}
	if err != nil {
		if errors.Is(err, sweep.ErrInUse) {
			return &exitError{code: exitUsage, err: err}
		}
		if errors.Is(err, lab.ErrNeedRoot) || errors.Is(err, lab.ErrUnsupported) || errors.Is(err, vmlab.ErrUnavailable) {
			return &exitError{code: exitInternal, err: err}
		}
		return err
	}
	if ctx.Err() != nil {
		fmt.Fprintf(st.stderr, "nobufs: sweep interrupted; resume with: nobufs sweep --resume %s\n", dir)
		return silentExit(exitInterrupted)
	}
	return nil
}

func newLabCmd(st *state) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Manage lab cells (network namespaces made for runs)",
	}
	var force bool
	var out string
	cleanup := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what crashed runs left: namespaces named nb-<token>-…",
		Long: `Cleanup removes the named network namespaces (/run/netns/nb-<token>-<n>-c|t),
and with them their veth pair, that lab cells of a nobufs process no longer
running left behind. A cell's owner proves it runs by holding a lock
(/run/nobufs/nb-<token>.lock) that the kernel drops when it dies, also as a
zombie and in another PID namespace. Nothing else is touched — not a name
of another form, not a symlink, not a mount of anything but a namespace.
Cells of a process still running are kept, and listed, unless --force.
It also ends the launched targets (target.server, target.command) a dead
nobufs left under --out: each run's target/ directory records the program
(PID and start time) and the nobufs that started it; a program is ended
only if that nobufs is gone and the PID still names the program.
Needs root.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			removed, kept, err := lab.Cleanup(force)
			for _, r := range removed {
				fmt.Fprintf(st.stdout, "removed %s\n", r)
			}
			for _, k := range kept {
				fmt.Fprintf(st.stdout, "kept %s; --force removes it\n", k)
			}
			reaped, running, perr := program.Cleanup(out)
			for _, r := range reaped {
				fmt.Fprintf(st.stdout, "ended the launched target of %s\n", r)
			}
			for _, k := range running {
				fmt.Fprintf(st.stdout, "kept the launched target of %s: the nobufs that started it still runs\n", k)
			}
			if err = errors.Join(err, perr); err != nil {
				return &exitError{code: exitInternal, err: err}
			}
			if len(removed) == 0 && len(kept) == 0 && len(reaped) == 0 && len(running) == 0 {
				fmt.Fprintln(st.stdout, "nothing to remove")
			}
			return nil
		},
	}
	cleanup.Flags().BoolVar(&force, "force", false, "also remove cells of nobufs processes that are still running")
	cleanup.Flags().StringVar(&out, "out", "results", "results directory whose runs' launched targets to end")
	cmd.AddCommand(cleanup, newLabVMCmd(st))
	return cmd
}
