package targets

import (
	"net"
	"sync"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
)

// neverAccept listens with a chosen backlog and never accepts:
// connections wait in its accept queue, later SYNs wait in the SYN queue.
type neverAccept struct {
	ln        net.Listener
	closeOnce sync.Once
}

func newNeverAccept(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	ln, err := listenBacklog(listen, o.Backlog)
	if err != nil {
		return nil, err
	}
	return &neverAccept{ln: ln}, nil
}

func (t *neverAccept) Addr() net.Addr { return t.ln.Addr() }

func (t *neverAccept) Info() schema.TargetInfo {
	return schema.TargetInfo{Mode: scenarios.TargetNeverAccept, Address: t.ln.Addr().String()}
}

// Kill closes the listener: the kernel resets what waits in its queue.
func (t *neverAccept) Kill() { t.Close() }

func (t *neverAccept) Close() { t.closeOnce.Do(func() { _ = t.ln.Close() }) }

var _ workers.AcceptQueuer = (*neverAccept)(nil)
