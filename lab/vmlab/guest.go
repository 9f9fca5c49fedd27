package vmlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nobufs/nobufs/lab/vm/guest"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
)

// GuestMain is the whole of nobufs as the /init of a VM placement's guest
// (cmd/nobufs calls it when it is PID 1 and NOBUFS_GUEST is set). It reads
// the scenario from the image, sets the guest's descriptor limit and the
// vm section's sysctls, runs the scenario through the engine with opts
// (the tables of kinds and targets, the host-state sampler) on the guest's
// own loopback, streams each timeline line out as it is written, sends the
// summary, and ends the guest. It does not return.
func GuestMain(opts workers.Options) {
	guest.Main(guest.Options{}, func(s *guest.Session) error { return runGuest(s, opts) })
}

// runGuest is the run inside the guest.
func runGuest(s *guest.Session, opts workers.Options) error {
	b, err := os.ReadFile(ScenarioPath)
	if err != nil {
		return fmt.Errorf("guest: %w", err)
	}
	sc, err := scenarios.Parse(ScenarioPath, b)
	if err != nil {
		return fmt.Errorf("guest: %w", err)
	}
	if sc.VM == nil {
		return fmt.Errorf("guest: %s has no vm section", ScenarioPath)
	}
	if err := setNoFile(sc.VM.NoFile); err != nil {
		return err
	}
	read, err := applySysctls(sc.VM.Sysctls)
	if len(sc.VM.Sysctls) > 0 {
		if serr := s.Send(TypeSysctls, read); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return err
	}
	opts.Timeline = &lineSender{s: s}
	if ms, err := strconv.Atoi(os.Getenv(envSampleMS)); err == nil && ms > 0 {
		opts.SampleEvery = time.Duration(ms) * time.Millisecond
	}
	if os.Getenv(envHostState) != "1" {
		opts.HostState = nil
	}
	// The guest's own bound, inside the host's run timeout.
	ctx, cancel := context.WithTimeout(context.Background(), sc.Stop.Duration.D()+sc.VM.RunGrace.D()/2)
	defer cancel()
	// Thresholds with abort are judged here, on the guest's own samples
	// (the host sees them only as they come over the serial port); the
	// others at the end, in the engine.
	mon := schema.NewThresholdMonitor(sc)
	if mon != nil {
		opts.OnSample = mon.Sample
	}
	sum, err := workers.Host{}.Run(ctx, sc, opts)
	if err != nil {
		return err
	}
	mon.Mark(sum)
	return s.Send(TypeSummary, sum)
}

// lineSender is the engine's timeline writer in the guest: each Write is
// one line, sent as one timeline record. Before the first (the start
// line, written as the load starts) it sends the run-start record. A
// record that cannot be written is counted by the session (the done
// record's lost) and seen by the host as a gap; the lines after it still
// go out.
type lineSender struct {
	s       *guest.Session
	started sync.Once
}

func (l *lineSender) Write(p []byte) (int, error) {
	l.started.Do(func() { _ = l.s.Send(TypeRunStart, kernelClock()) })
	line := bytes.TrimRight(p, "\n")
	if json.Valid(line) {
		_ = l.s.Send(TypeTimeline, json.RawMessage(line))
	}
	return len(p), nil
}
