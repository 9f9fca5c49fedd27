package main

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/targets"
)

func newTargetCmd(st *state) *cobra.Command {
	var (
		mode, listen string
		quiet        bool
		every        time.Duration
		opts         scenarios.TargetOptions
		vanishAfter  time.Duration
		sendTimeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "target",
		Short: "Serve a built-in target standalone",
		Long: `Target serves one built-in target mode in its own process, so the target
has its own descriptor budget or runs on another machine. It prints the
address it listens on, then its counters every second, and stops cleanly on
SIGINT or SIGTERM.

Modes: ` + strings.Join(scenarios.TargetModes, ", ") + `.

churn-peer listens on --peers consecutive loopback addresses from the
--listen address, all on one port (a churn scenario's churn.peers must
match); so does sink, for a hold scenario's hold.peers. never-accept listens with --backlog and never accepts; on Linux it
prints how many connections wait in its accept queue.

A non-reader reads --read-bytes of each connection, then stops reading; a
vanish target resets each connection --vanish-after accepting it. Killing a
non-reader's process (by PID) makes its peers see ECONNRESET, then EPIPE.
A streamer writes to each client as fast as its window lets it and resets a
client whose write stays blocked --send-timeout (0: never).`,
		Example: `  nobufs target --mode sink --listen 127.0.0.1:9000
  nobufs target --mode accept-close --listen 127.0.0.1:0 --quiet
  nobufs target --mode churn-peer --listen 127.42.0.1:42000 --peers 32
  nobufs target --mode never-accept --listen 127.42.0.1:42001 --backlog 1
  nobufs target --mode non-reader --read-bytes 4096 --listen 127.0.0.1:9000
  nobufs target --mode vanish --vanish-after 2s --listen 127.0.0.1:9000
  nobufs target --mode udp-sink --listen 127.0.0.1:9000
  nobufs target --mode streamer --send-timeout 2s --listen 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !slices.Contains(scenarios.TargetModes, mode) {
				return usageError("--mode %q: allowed: %s", mode, strings.Join(scenarios.TargetModes, ", "))
			}
			if b := scenarios.Bounds["churn.peers"]; float64(opts.Peers) < b.Min || float64(opts.Peers) > b.Max {
				return usageError("--peers %d: allowed: %s", opts.Peers, b)
			}
			if b := scenarios.Bounds["half_open.backlog"]; float64(opts.Backlog) < b.Min || float64(opts.Backlog) > b.Max {
				return usageError("--backlog %d: allowed: %s", opts.Backlog, b)
			}
			if opts.Peers > 1 && mode != scenarios.TargetChurnPeer && mode != scenarios.TargetSink {
				return usageError("--peers applies to --mode %s and %s only", scenarios.TargetChurnPeer, scenarios.TargetSink)
			}
			if _, err := scenarios.PeerAddrs(listen, opts.Peers); err != nil {
				return usageError("--listen %s --peers %d: %v", listen, opts.Peers, err)
			}
			if every <= 0 {
				return usageError("--every %s: want a positive duration", every)
			}
			if opts.ReadBytes < 0 || vanishAfter < 0 {
				return usageError("--read-bytes and --vanish-after must not be negative")
			}
			if sendTimeout < 0 {
				return usageError("--send-timeout must not be negative")
			}
			opts.VanishAfter, opts.SendTimeout = scenarios.Duration(vanishAfter), scenarios.Duration(sendTimeout)
			t, err := targets.Listen(mode, listen, opts)
			if err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("listen: %w", err)}
			}
			defer t.Close()
			var addrs []net.Addr
			if m, ok := t.(interface{ Addrs() []net.Addr }); ok {
				addrs = m.Addrs()
			}
			if len(addrs) > 1 {
				fmt.Fprintf(st.stdout, "listening %s mode %s peers %d through %s\n", t.Addr(), mode, len(addrs), addrs[len(addrs)-1])
			} else {
				fmt.Fprintf(st.stdout, "listening %s mode %s\n", t.Addr(), mode)
			}
			tick := time.NewTicker(every)
			defer tick.Stop()
			line := func() {
				in := t.Info()
				fmt.Fprintf(st.stdout, "accepted %d active %d read %d", in.Accepted, in.Active, in.BytesRead)
				if q, ok := t.(workers.AcceptQueuer); ok {
					if q, b, ok := q.AcceptQueue(); ok {
						fmt.Fprintf(st.stdout, " queued %d backlog %d", q, b)
					}
				}
				if _, ok := t.(workers.SendQueuer); ok {
					fmt.Fprintf(st.stdout, " written %d", in.BytesWritten)
				}
				if in.Datagrams > 0 || in.Vanished > 0 {
					fmt.Fprintf(st.stdout, " datagrams %d vanished %d", in.Datagrams, in.Vanished)
				}
				for _, e := range in.ServerErrors {
					fmt.Fprintf(st.stdout, " %s/%s(%d) %d", e.Phase, e.Class, e.Code, e.Count)
				}
				fmt.Fprintln(st.stdout)
			}
			for {
				select {
				case <-c.Context().Done():
					t.Close()
					line()
					return nil
				case <-tick.C:
					if !quiet {
						line()
					}
				}
			}
		},
	}
	cmd.Flags().StringVar(&mode, "mode", scenarios.TargetSink, "target mode: "+strings.Join(scenarios.TargetModes, ", "))
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the address and the final counters")
	cmd.Flags().DurationVar(&every, "every", time.Second, "how often to print counters")
	cmd.Flags().IntVar(&opts.Peers, "peers", 1, "churn-peer: listen on this many consecutive loopback addresses (same port)")
	cmd.Flags().IntVar(&opts.Backlog, "backlog", 1, "never-accept: listen backlog")
	cmd.Flags().Int64Var(&opts.ReadBytes, "read-bytes", 0, "non-reader: bytes read from each connection before it stops reading")
	cmd.Flags().DurationVar(&vanishAfter, "vanish-after", time.Second, "vanish: how long after accepting a connection it is reset")
	cmd.Flags().DurationVar(&sendTimeout, "send-timeout", 2*time.Second, "streamer: reset a client whose write stayed blocked this long (0: never)")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(scenarios.TargetModes, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
