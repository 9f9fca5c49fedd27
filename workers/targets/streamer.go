package targets

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// streamChunk is what a streamer writes at a time.
const streamChunk = 64 << 10

// streamer writes to each client as fast as its window lets it, reading
// and discarding what the client sends (its request) meanwhile. A write
// blocked for SendTimeout makes it give up on the client: it resets the
// connection (RST, as nginx with reset_timedout_connection), which frees
// the queue at once. It implements workers.SendQueuer: what its sockets
// hold, the server's side of a slow reader.
type streamer struct {
	*stream
	sendTimeout time.Duration
}

func newStreamer(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	t := &streamer{stream: newStream(scenarios.TargetStreamer), sendTimeout: o.SendTimeout.D()}
	var err error
	if t.lns, err = listen1(listen); err != nil {
		return nil, err
	}
	t.serve = t.push
	t.run()
	return t, nil
}

func (t *streamer) push(c net.Conn) error {
	// Whatever the client sends (a request) is read and discarded; the
	// reader ends when the connection is closed.
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		_, _ = io.Copy(io.Discard, t.counting(c))
	}()
	chunk := make([]byte, streamChunk)
	for {
		if t.sendTimeout > 0 {
			if err := c.SetWriteDeadline(time.Now().Add(t.sendTimeout)); err != nil {
				return err
			}
		}
		n, err := c.Write(chunk)
		t.bytesWritten.Add(uint64(n))
		switch {
		case err == nil:
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Gave up on a client that reads too slowly.
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			t.vanished.Add(1)
			return nil
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
			return nil // the client went away: not the server's error
		}
		return err
	}
}

// SendQueue sums the send queues of the connections the streamer holds.
func (t *streamer) SendQueue() (queued int64, sockets int, ok bool) {
	if !workers.SockInfoSupported {
		return 0, 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		sc, isSys := c.(syscall.Conn)
		if !isSys {
			continue
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			continue
		}
		var si workers.SockInfo
		var serr error
		if raw.Control(func(fd uintptr) { si, serr = workers.SockQueue(fd) }) != nil || serr != nil {
			continue
		}
		queued += si.Queued
		sockets++
	}
	return queued, sockets, true
}

var _ workers.SendQueuer = (*streamer)(nil)
