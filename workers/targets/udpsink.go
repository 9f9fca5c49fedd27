package targets

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// udpSink receives UDP datagrams and discards them, counting them.
type udpSink struct {
	pc        net.PacketConn
	done      chan struct{}
	datagrams atomic.Uint64
	bytesRead atomic.Uint64
	start     time.Time

	mu        sync.Mutex
	errs      schema.Tally
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// udpDrain is how long a closing udp-sink keeps reading what is queued.
const udpDrain = 50 * time.Millisecond

func newUDPSink(listen string, _ scenarios.TargetOptions) (workers.Target, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(context.Background(), "udp", listen)
	if err != nil {
		return nil, err
	}
	t := &udpSink{pc: pc, done: make(chan struct{}), start: time.Now()}
	t.wg.Add(1)
	go t.loop()
	return t, nil
}

func (t *udpSink) Addr() net.Addr { return t.pc.LocalAddr() }

func (t *udpSink) Info() schema.TargetInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return schema.TargetInfo{Mode: scenarios.TargetUDPSink, Address: t.pc.LocalAddr().String(), ServerErrors: t.errs.Errors(),
		BytesRead: t.bytesRead.Load(), Datagrams: t.datagrams.Load()}
}

// Close stops receiving after draining what is queued (datagrams already
// sent to the sink are counted), and waits.
func (t *udpSink) Close() {
	t.closeOnce.Do(func() {
		close(t.done)
		if t.pc.SetReadDeadline(time.Now().Add(udpDrain)) != nil {
			_ = t.pc.Close()
		}
	})
	t.wg.Wait()
}

// Kill closes the socket at once, without draining.
func (t *udpSink) Kill() {
	t.closeOnce.Do(func() {
		close(t.done)
		_ = t.pc.Close()
	})
	t.wg.Wait()
}

// loop receives and discards datagrams until the target is closed.
func (t *udpSink) loop() {
	defer t.wg.Done()
	defer t.pc.Close()
	buf := make([]byte, 65536)
	for {
		n, _, err := t.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-t.done:
				return // the drain deadline after Close
			default:
			}
			t.mu.Lock()
			t.errs.AddError(errclass.Classify(err, errclass.PhaseRecv), 1, time.Since(t.start).Seconds(), 0)
			t.mu.Unlock()
			select {
			case <-t.done:
				return
			case <-time.After(time.Millisecond):
			}
			continue
		}
		t.datagrams.Add(1)
		t.bytesRead.Add(uint64(n))
	}
}
