package targets

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// TestStreamer: a client that never reads makes the streamer's send queue
// fill (SendQueue sees it), then the streamer gives up on it after its send
// timeout and resets it.
func TestStreamer(t *testing.T) {
	tg, err := Start(scenarios.TargetStreamer, "127.0.0.1:0", scenarios.TargetOptions{SendTimeout: scenarios.Duration(300 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	c, err := net.Dial("tcp", tg.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	sq := tg.(workers.SendQueuer)
	if workers.SockInfoSupported {
		testkit.WaitFor(t, func() bool { q, n, ok := sq.SendQueue(); return ok && n == 1 && q > 64<<10 })
	}
	testkit.WaitFor(t, func() bool { return tg.Info().Vanished == 1 })
	in := tg.Info()
	if in.BytesWritten < 64<<10 || in.BytesRead != 18 {
		t.Errorf("info = %+v, want >64 KiB written and the 18-byte request read", in)
	}
	// The reset reaches the client after the data queued before it.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read = %v, want ECONNRESET once the queue is read", err)
	}
	if q, n, ok := sq.SendQueue(); ok && (q != 0 || n != 0) {
		t.Errorf("send queue after the reset = %d over %d sockets, want none", q, n)
	}
}
