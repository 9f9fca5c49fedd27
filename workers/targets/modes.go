package targets

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// startStream listens on listen and serves each connection with serve.
func startStream(mode, listen string, serve func(t *stream, c net.Conn) error) (workers.Target, error) {
	t := newStream(mode)
	var err error
	if t.lns, err = listen1(listen); err != nil {
		return nil, err
	}
	if serve != nil {
		t.serve = func(c net.Conn) error { return serve(t, c) }
	}
	t.run()
	return t, nil
}

// newAcceptClose accepts each connection and closes it at once: the
// server closes first, so TIME_WAIT sits on the server.
func newAcceptClose(listen string, _ scenarios.TargetOptions) (workers.Target, error) {
	return startStream(scenarios.TargetAcceptClose, listen, nil)
}

// newEcho writes back what it reads until the client closes.
func newEcho(listen string, _ scenarios.TargetOptions) (workers.Target, error) {
	return startStream(scenarios.TargetEcho, listen, func(t *stream, c net.Conn) error {
		_, err := io.Copy(c, t.counting(c))
		return err
	})
}

// newVanish reads and discards for VanishAfter, then resets the
// connection (SO_LINGER 0: close sends RST and drops what was not read).
func newVanish(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	return startStream(scenarios.TargetVanish, listen, func(t *stream, c net.Conn) error {
		if err := c.SetReadDeadline(time.Now().Add(o.VanishAfter.D())); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, t.counting(c))
		if err == nil { // the client closed first
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			if err := tc.SetLinger(0); err != nil {
				return err
			}
		}
		t.vanished.Add(1)
		return nil // the deferred Close sends the RST
	})
}
