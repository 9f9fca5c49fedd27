//go:build !linux

package targets

import (
	"io"
	"net"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// The holding modes on systems without workers/netpoll: one goroutine
// per connection (holding_linux.go holds them on one event loop).

// newSink reads and discards until the client closes; it listens on
// o.Peers consecutive loopback addresses (kind hold's peers).
func newSink(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	t := newStream(scenarios.TargetSink)
	var err error
	if t.lns, err = listenPeers(listen, o.Peers); err != nil {
		return nil, err
	}
	t.serve = func(c net.Conn) error {
		_, err := io.Copy(io.Discard, t.counting(c))
		return err
	}
	t.run()
	return t, nil
}

// newNonReader reads ReadBytes, then holds the connection without reading
// until the target stops: its receive window closes and the sender's data
// piles up in the sender's send queue.
func newNonReader(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	return startStream(scenarios.TargetNonReader, listen, func(t *stream, c net.Conn) error {
		if o.ReadBytes > 0 {
			_, err := io.CopyN(io.Discard, t.counting(c), o.ReadBytes)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
		<-t.done
		return nil
	})
}
