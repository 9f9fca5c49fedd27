package targets

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// The churn exchange. Each burst the client sends is an 8-byte header —
// the payload length and the reply length it wants, both uint32 big-endian
// — then the payload. The churn-peer reads the payload and answers with
// exactly the reply length in bytes. The client closes (FIN or RST); the
// peer closes when it sees the end.
const (
	// ChurnHeaderLen is the length of a burst header.
	ChurnHeaderLen = 8
	// ChurnMaxBurst bounds either length; the scenario's churn.send and
	// churn.reply draws are clamped to it.
	ChurnMaxBurst = 16 << 20
)

// errChurnFrame is a burst header asking for more than ChurnMaxBurst.
var errChurnFrame = errors.New("churn-peer: burst length over 16 MiB")

// PutChurnHeader writes a burst header.
func PutChurnHeader(b []byte, send, reply uint32) {
	binary.BigEndian.PutUint32(b[0:4], send)
	binary.BigEndian.PutUint32(b[4:8], reply)
}

// newChurnPeer listens on Peers consecutive loopback addresses (same
// port) and answers each framed burst with the bytes it asks for.
func newChurnPeer(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	t := newStream(scenarios.TargetChurnPeer)
	var err error
	if t.lns, err = listenPeers(listen, o.Peers); err != nil {
		return nil, err
	}
	t.serve = serveChurnPeer
	t.run()
	return t, nil
}

// serveChurnPeer answers framed bursts until the client closes. An RST
// from the client ends it with ECONNRESET, which the caller records.
func serveChurnPeer(c net.Conn) error {
	var hdr [ChurnHeaderLen]byte
	out := make([]byte, 32<<10)
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the client closed between bursts
			}
			return err
		}
		send := binary.BigEndian.Uint32(hdr[0:4])
		reply := binary.BigEndian.Uint32(hdr[4:8])
		if send > ChurnMaxBurst || reply > ChurnMaxBurst {
			return errChurnFrame
		}
		if _, err := io.CopyN(io.Discard, c, int64(send)); err != nil {
			return err
		}
		for reply > 0 {
			n := min(int(reply), len(out))
			if _, err := c.Write(out[:n]); err != nil {
				return err
			}
			reply -= uint32(n)
		}
	}
}

// listenPeers listens on peers consecutive loopback addresses from listen,
// all on one port. With port 0 the first listener picks a free port and
// the others take the same one; if that port is taken on another address,
// it starts over with a fresh port (a bounded number of times).
func listenPeers(listen string, peers int) ([]net.Listener, error) {
	var lastErr error
	for range 20 {
		addrs, err := scenarios.PeerAddrs(listen, max(peers, 1))
		if err != nil {
			return nil, err
		}
		lns, err := listenAll(addrs[0].Port() == 0, addrs)
		if err == nil {
			return lns, nil
		}
		if addrs[0].Port() != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("no port free on all %d peer addresses: %w", peers, lastErr)
}

func listenAll(pick bool, addrs []netip.AddrPort) ([]net.Listener, error) {
	lns := make([]net.Listener, 0, len(addrs))
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	port := addrs[0].Port()
	for _, a := range addrs {
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(a.Addr(), port).String())
		if err != nil {
			closeAll()
			return nil, err
		}
		if pick && port == 0 {
			port = uint16(ln.Addr().(*net.TCPAddr).Port)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}
