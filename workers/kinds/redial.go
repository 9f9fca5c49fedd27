package kinds

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// redialer dials a worker's long-lived connection (dead-peer,
// slow-reader): once after redial_after has passed since the worker's last
// connection ended, then the options only a connected socket takes.
type redialer struct {
	dialer *net.Dialer
	addr   string
	sock   scenarios.Socket
	after  time.Duration
}

// dial returns the connection and its raw descriptor, having recorded the
// connect on w; or false, having recorded the failure (the run stopping is
// no failure). endedAt is when the worker's last connection ended (zero:
// none yet); a failed dial sets it to now, so the next waits again.
func (r redialer) dial(ctx context.Context, w *workers.Worker, op uint64, endedAt *time.Time) (*net.TCPConn, syscall.RawConn, bool) {
	if !endedAt.IsZero() {
		if wait := time.Until(endedAt.Add(r.after)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, nil, false
			case <-t.C:
			}
		}
	}
	t0 := time.Now()
	c, err := r.dialer.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseConnect, err)
		*endedAt = time.Now()
		return nil, nil, false
	}
	tc := c.(*net.TCPConn) // a "tcp" dial returns *net.TCPConn
	raw, err := tc.SyscallConn()
	if err == nil {
		err = workers.AfterConnect(c, r.sock)
	}
	if err != nil {
		_ = c.Close()
		w.Fail(ctx, op, errclass.PhaseSetsockopt, err)
		*endedAt = time.Now()
		return nil, nil, false
	}
	w.Connected(time.Since(t0))
	return tc, raw, true
}
