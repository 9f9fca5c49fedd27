package workers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers/errclass"
)

// errStat counts one ErrorKey and remembers its first occurrence.
type errStat struct {
	count   uint64
	firstAt time.Duration // since the run started
	firstOp uint64        // operation index (1-based)
}

// liveStat is a worker's count of one ErrorKey; count is atomic so that
// a repeat of the last key needs no lock.
type liveStat struct {
	key     errclass.ErrorKey
	count   atomic.Uint64
	firstAt time.Duration
	firstOp uint64
}

// Worker is one member of a pool. It owns its counters and histograms; the
// only cross-goroutine access is the sampler's once-a-second read of the
// atomic counters and, under mu, of the error table.
type Worker struct {
	ID  int
	run *run

	ok       atomic.Uint64
	bytesOut atomic.Uint64
	bytesIn  atomic.Uint64

	mu   sync.Mutex
	errs map[errclass.ErrorKey]*liveStat
	// last is the entry of the last key that failed: failures come in
	// runs of one key, and a repeat is counted without the lock.
	last atomic.Pointer[liveStat]

	// Owned by the worker goroutine; read only after it has exited.
	connectHist *hdrhistogram.Histogram
	opHist      *hdrhistogram.Histogram
}

func newWorker(id int, r *run) *Worker {
	return &Worker{ID: id, run: r, errs: map[errclass.ErrorKey]*liveStat{}, connectHist: schema.NewHist(), opHist: schema.NewHist()}
}

// Since returns the time since the run's load started.
func (w *Worker) Since() time.Duration { return time.Since(w.run.start) }

// OK counts one successful operation that took d.
func (w *Worker) OK(d time.Duration) {
	w.ok.Add(1)
	schema.Record(w.opHist, d)
}

// Connected records one successful connect that took d and counts an open
// connection; call Closed when it is closed.
func (w *Worker) Connected(d time.Duration) {
	schema.Record(w.connectHist, d)
	w.run.opened()
}

// Closed counts a connection closed.
func (w *Worker) Closed() { w.run.open.Add(-1) }

// Bytes counts bytes sent and received.
func (w *Worker) Bytes(out, in int) {
	if out > 0 {
		w.bytesOut.Add(uint64(out))
	}
	if in > 0 {
		w.bytesIn.Add(uint64(in))
	}
}

// Fail records the failure of operation op in phase. Errors caused by the
// run itself stopping (ctx done) are not failures and are dropped; Fail
// reports whether it recorded err.
func (w *Worker) Fail(ctx context.Context, op uint64, phase errclass.Phase, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	k := errclass.Classify(err, phase)
	if k.Class == errclass.ClassCanceled {
		return false
	}
	if st := w.last.Load(); st != nil && st.key == k {
		st.count.Add(1)
		return true
	}
	w.mu.Lock()
	st := w.errs[k]
	if st == nil {
		// Only a first occurrence reads the clock.
		at := w.Since()
		st = &liveStat{key: k, firstAt: at, firstOp: op}
		st.count.Store(1)
		w.errs[k] = st
		w.last.Store(st)
		w.mu.Unlock()
		w.run.firstError(k, at, op)
		return true
	}
	st.count.Add(1)
	w.last.Store(st)
	w.mu.Unlock()
	return true
}

// InClient is Env.InClient, for kinds that hold only the worker.
func (w *Worker) InClient(fn func()) error { return onThreadIn(w.run.enterClient(), fn) }

// snapshotErrors copies the worker's error counts (sampler and summary).
func (w *Worker) snapshotErrors(into map[errclass.ErrorKey]*errStat) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, st := range w.errs {
		m := into[k]
		n := st.count.Load()
		if m == nil {
			into[k] = &errStat{count: n, firstAt: st.firstAt, firstOp: st.firstOp}
			continue
		}
		m.count += n
		if st.firstAt < m.firstAt || (st.firstAt == m.firstAt && st.firstOp < m.firstOp) {
			m.firstAt, m.firstOp = st.firstAt, st.firstOp
		}
	}
}
