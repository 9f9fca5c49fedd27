package workers

import (
	"context"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// stopper ends a run in one of two ways. stop cancels every operation in
// flight (the duration is up, the failure came, the caller interrupted);
// drain stops issuing new operations and lets those in flight finish
// (max_ops reached, the last open-model stage ended). The first reason
// given is the one recorded.
type stopper struct {
	cancel  context.CancelFunc
	mu      sync.Mutex
	why     string
	drainCh chan struct{}
}

func newStopper(cancel context.CancelFunc) *stopper {
	return &stopper{cancel: cancel, drainCh: make(chan struct{})}
}

func (s *stopper) set(reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.why != "" {
		return false
	}
	s.why = reason
	return true
}

func (s *stopper) stop(reason string) {
	s.set(reason)
	s.cancel()
}

func (s *stopper) drain(reason string) {
	if s.set(reason) {
		close(s.drainCh)
	}
}

func (s *stopper) draining() bool {
	select {
	case <-s.drainCh:
		return true
	default:
		return false
	}
}

func (s *stopper) reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

// drive runs the workers until the run ends, sampling it every interval,
// and returns once every worker and the sampler have exited. It returns
// the error of a worker that could not enter the client side.
func drive(ctx context.Context, r *run, k Kind, st *stopper, smp *sampler, every time.Duration) error {
	if every <= 0 {
		every = time.Second
	}
	var g errgroup.Group
	// In a cell each worker goroutine runs on its own thread inside the
	// client side for the whole run and exits without unlocking it, so the
	// runtime discards the thread (see Namespaces).
	var enterErr error
	var enterOnce sync.Once
	enter := func() bool {
		e := r.enterClient()
		if e == nil {
			return true
		}
		runtime.LockOSThread()
		if err := e(); err != nil {
			enterOnce.Do(func() { enterErr = err })
			st.stop(schema.StopError)
			return false
		}
		return true
	}
	// claim takes the next operation: this process's next index, mapped
	// to the global index its segment owns (the same index without
	// segments). stop.max_ops is this process's share.
	claim := func() (uint64, bool) {
		idx := r.issued.Add(1)
		if idx > r.sc.Stop.MaxOps {
			st.drain(schema.StopMaxOps)
			return 0, false
		}
		return r.seg.Global(idx), true
	}
	if lk, ok := k.(Looper); ok && r.sc.Load.Model != scenarios.ModelOpen {
		// An event-loop kind: a few goroutines, each keeping its share of
		// load.workers operations in flight.
		n := min(runtime.GOMAXPROCS(0), len(r.workers))
		next := func() (uint64, bool) {
			if ctx.Err() != nil || st.draining() {
				return 0, false
			}
			return claim()
		}
		// No loop takes work before every loop has made its poller (a
		// loop asks for its first operation only after): otherwise the
		// first loop's sockets may use up the descriptors (limits.nofile)
		// and the second loop's epoll_create would be the failure
		// recorded, not the socket call that a user limits.
		var started sync.WaitGroup
		started.Add(n)
		for i := range n {
			w := r.workers[i]
			inflight := len(r.workers)*(i+1)/n - len(r.workers)*i/n
			arrive := sync.OnceFunc(started.Done)
			first := true
			loopNext := func() (uint64, bool) {
				if first {
					first = false
					arrive()
					started.Wait()
				}
				return next()
			}
			g.Go(func() error {
				defer arrive()
				if !enter() {
					return nil
				}
				lk.Loop(ctx, w, inflight, loopNext)
				return nil
			})
		}
	} else if r.sc.Load.Model == scenarios.ModelOpen {
		work := make(chan struct{})
		// The dispatcher starts once every worker goroutine runs: an early
		// arrival must not be dropped because the workers were not started
		// yet (arrivals due meanwhile are issued at once, not lost).
		var ready sync.WaitGroup
		ready.Add(len(r.workers))
		for _, w := range r.workers {
			g.Go(func() error {
				ready.Done()
				if !enter() {
					for range work {
					}
					return nil
				}
				for range work {
					idx, ok := claim()
					if !ok {
						return nil
					}
					k.Op(ctx, w, idx)
				}
				return nil
			})
		}
		g.Go(func() error {
			defer close(work)
			ready.Wait()
			dispatch(ctx, r, work, st)
			return nil
		})
	} else {
		for _, w := range r.workers {
			g.Go(func() error {
				if !enter() {
					return nil
				}
				for ctx.Err() == nil && !st.draining() {
					idx, ok := claim()
					if !ok {
						return nil
					}
					k.Op(ctx, w, idx)
				}
				return nil
			})
		}
	}

	samplerDone := make(chan struct{})
	workersDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				smp.sample()
			case <-workersDone:
				smp.sample()
				return
			}
		}
	}()
	_ = g.Wait()
	// A drain leaves ctx live; end it now so helpers a kind started with it
	// (the dead-peer reaper) end before the kind reports.
	st.cancel()
	close(workersDone)
	<-samplerDone
	return enterErr
}

// dispatch issues open-model arrivals to idle workers until ctx ends or the
// pacer stops. An arrival that finds no idle worker is dropped and counted.
func dispatch(ctx context.Context, r *run, work chan<- struct{}, st *stopper) {
	l := r.sc.Load
	var p Pacer
	switch {
	case len(l.Stages) > 0:
		rp := RampPacer{Start: l.Rate}
		for _, s := range l.Stages {
			rp.Stages = append(rp.Stages, Stage{Duration: s.Duration.D(), Target: s.Target})
		}
		p = rp
	case l.Arrival == scenarios.ArrivalPoisson:
		p = NewPoissonPacer(l.Rate, l.Seed)
	default:
		p = ConstantPacer{Rate: l.Rate}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var hits uint64
	for ctx.Err() == nil {
		wait, done := p.Pace(time.Since(r.start), hits)
		if done {
			st.drain(schema.StopStagesDone)
			return
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-st.drainCh:
				return
			case <-timer.C:
			}
			continue
		}
		hits++
		select {
		case <-st.drainCh:
			return
		case work <- struct{}{}:
		default:
			r.dropped.Add(1)
		}
	}
}
