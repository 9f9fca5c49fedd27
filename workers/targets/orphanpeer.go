package targets

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// orphanPeer is the other end of the orphan-churn kind. From each
// connection it reads one churn header (the payload, if any, is read and
// discarded), writes the reply length the header asks for and closes at
// once: what the client has not read yet stays in the kernel, held by an
// orphaned socket. A write blocked for writeTimeout (no room in the send
// buffer, TCP memory under pressure) ends the burst early: the peer closes
// anyway, orphaning what it wrote (counted in Info's Vanished).
type orphanPeer struct {
	*stream
	writeTimeout time.Duration
}

func newOrphanPeer(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	t := &orphanPeer{stream: newStream(scenarios.TargetOrphanPeer), writeTimeout: o.SendTimeout.D()}
	if t.writeTimeout <= 0 {
		t.writeTimeout = 5 * time.Second
	}
	var err error
	if t.lns, err = listenPeers(listen, o.Peers); err != nil {
		return nil, err
	}
	t.serve = t.serveBurst
	t.run()
	return t, nil
}

// serveBurst answers one request and returns, so that the connection is
// closed (by FIN: everything the client sent has been read).
func (t *orphanPeer) serveBurst(c net.Conn) error {
	var hdr [ChurnHeaderLen]byte
	if err := c.SetReadDeadline(time.Now().Add(t.writeTimeout)); err != nil {
		return err
	}
	if _, err := io.ReadFull(t.counting(c), hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // the client closed before asking
		}
		return err
	}
	send := binary.BigEndian.Uint32(hdr[0:4])
	reply := binary.BigEndian.Uint32(hdr[4:8])
	if send > ChurnMaxBurst || reply > ChurnMaxBurst {
		return errChurnFrame
	}
	if _, err := io.CopyN(io.Discard, t.counting(c), int64(send)); err != nil {
		return err
	}
	if err := c.SetWriteDeadline(time.Now().Add(t.writeTimeout)); err != nil {
		return err
	}
	out := make([]byte, min(int(reply), 64<<10))
	for left := int(reply); left > 0; {
		n, err := c.Write(out[:min(left, len(out))])
		t.bytesWritten.Add(uint64(n))
		left -= n
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.vanished.Add(1) // gave up: close with what is queued
			return nil
		case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
			return nil // the client went away (the run stopped)
		default:
			return err
		}
	}
	return nil
}
