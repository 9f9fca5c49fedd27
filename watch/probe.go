package watch

import (
	"cmp"
	"context"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/wire"
)

// maxOutages bounds the outages a probe report lists.
const maxOutages = 100

// outcomeOK is a probe's outcome when the service answered.
const outcomeOK = "ok"

// prober is the availability probe (slowhttptest's "service available"):
// every target.probe.every, one fresh connection to the target from the
// client side, the scenario's payload and expect on it, its outcome and
// latency. A failed probe is recorded as class unavailable, phase probe.
type prober struct {
	env     *workers.WatchEnv
	addr    string
	every   time.Duration
	timeout time.Duration
	payload []byte
	expect  *wire.Expect
	failing map[string]bool

	mu       sync.Mutex
	probes   uint64
	ok       uint64
	failed   uint64
	outcomes map[string]uint64
	hist     *hdrhistogram.Histogram
	lines    *wire.Lines
	first    *float64
	outages  []schema.Outage
	open     bool // the last outage has not ended
	// this interval's, for the sample
	ivProbes, ivOK, ivFailed uint64
	last                     schema.ProbeSample
	note                     string
}

func newProber(env *workers.WatchEnv, done <-chan struct{}, wg *sync.WaitGroup) (*prober, error) {
	pc := env.Scenario.Target.Probe
	payload, ex, failing, err := words(env)
	if err != nil {
		return nil, err
	}
	p := &prober{env: env, addr: env.Addr, every: pc.Every.D(), timeout: pc.Timeout.D(), payload: payload, expect: ex,
		failing: failing, outcomes: map[string]uint64{}, hist: schema.NewHist(), lines: wire.NewLines(env.Scenario.Wire.LinesKept())}
	wg.Add(1)
	go p.run(done, wg)
	return p, nil
}

// run probes every interval until done is closed, on a thread of the
// client side (in a cell: locked and moved there for good, discarded at
// the end).
func (p *prober) run(done <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	if enter := p.env.EnterClient; enter != nil {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread stays in the client namespace and
		// dies with this goroutine.
		if err := enter(); err != nil {
			p.mu.Lock()
			p.note = "probe: cannot enter the client side: " + err.Error()
			p.mu.Unlock()
			return
		}
	}
	// A probe in flight when the load stops is cut short and not counted:
	// the workers closing their connections then may free the server.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := p.env.Stopped()
	go func() {
		select {
		case <-stopped:
		case <-done:
		case <-ctx.Done():
		}
		cancel()
	}()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		p.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once makes one probe and records its outcome.
func (p *prober) once(ctx context.Context) {
	t0 := time.Now()
	outcome, line := p.try(ctx, t0)
	took := time.Since(t0)
	if ctx.Err() != nil {
		return // cut short by the load's stop: not the service's answer
	}
	at := p.env.Elapsed(t0).Seconds()
	if outcome != outcomeOK {
		p.env.Record(errclass.ErrorKey{Phase: errclass.PhaseProbe, Class: errclass.ClassUnavailable}, t0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probes++
	p.ivProbes++
	p.outcomes[outcome]++
	if line != "" {
		p.lines.Add(line)
	}
	p.last = schema.ProbeSample{LastOutcome: outcome, LastLatencyUs: float64(took) / float64(time.Microsecond), LastLine: line}
	if outcome == outcomeOK {
		p.ok++
		p.ivOK++
		schema.Record(p.hist, took)
		if p.open {
			to := at
			p.outages[len(p.outages)-1].ToSec = &to
			p.open = false
		}
		return
	}
	p.failed++
	p.ivFailed++
	if p.first == nil {
		f := at
		p.first = &f
	}
	switch {
	case p.open:
		p.outages[len(p.outages)-1].Probes++
	case len(p.outages) < maxOutages:
		p.outages = append(p.outages, schema.Outage{FromSec: at, Probes: 1})
		p.open = true
	}
}

// try connects, says the payload and reads the reply within the probe's
// timeout; the outcome is "ok" or the class of what went wrong.
func (p *prober) try(ctx context.Context, t0 time.Time) (outcome, line string) {
	deadline := t0.Add(p.timeout)
	d := net.Dialer{Timeout: p.timeout}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return string(errclass.Classify(err, errclass.PhaseConnect).Class), ""
	}
	defer func() {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // no TIME_WAIT of the probe's on the client side
		}
		_ = c.Close()
	}()
	_ = c.SetDeadline(deadline)
	defer context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })()
	if len(p.payload) > 0 {
		if _, err := c.Write(p.payload); err != nil {
			return string(errclass.Classify(err, errclass.PhaseSend).Class), ""
		}
	}
	if p.expect == nil {
		return outcomeOK, ""
	}
	ex := *p.expect
	ex.Timeout = min(cmp.Or(ex.Timeout, wire.DefaultTimeout), max(time.Until(deadline), time.Millisecond))
	rep := ex.Read(c)
	if rep.Bytes == 0 {
		if rep.Err == nil {
			rep.Err = io.EOF
		}
		return string(errclass.Classify(rep.Err, errclass.PhaseRecv).Class), ""
	}
	if rep.Class != "" && p.failing[rep.Class] {
		return rep.Class, rep.FirstLine
	}
	return outcomeOK, rep.FirstLine
}

// take returns this interval's probes and the last one's outcome.
func (p *prober) take() *schema.ProbeSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.last
	s.Probes, s.OK, s.Failed = p.ivProbes, p.ivOK, p.ivFailed
	p.ivProbes, p.ivOK, p.ivFailed = 0, 0, 0
	return &s
}

// report is the probe's part of the summary (after run ended).
func (p *prober) report() *schema.ProbeReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := &schema.ProbeReport{EverySec: p.every.Seconds(), Probes: p.probes, OK: p.ok, Failed: p.failed,
		Latency: schema.LatencyOf(p.hist), FirstFailureAtSec: p.first, Outages: slices.Clone(p.outages)}
	for o, n := range p.outcomes {
		r.Outcomes = append(r.Outcomes, schema.ClassCount{Class: errclass.Class(o), Count: n})
	}
	slices.SortFunc(r.Outcomes, func(a, b schema.ClassCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Class, b.Class))
	})
	if p.open && len(p.outages) > 0 {
		from := p.outages[len(p.outages)-1].FromSec
		r.UnavailableFromSec = &from
	}
	for _, l := range p.lines.Rows() {
		r.Lines = append(r.Lines, schema.LineCount{Line: l.Line, Count: l.Count})
	}
	return r
}
