package kinds

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// udpKind sends UDP datagrams: each worker owns one connected UDP socket
// and each operation is one send of udp_push.size bytes. With
// udp_push.recverr the socket has IP_RECVERR set (Go's UDPConn does not
// set it), so a datagram the kernel drops locally — a full qdisc — fails
// the send with ENOBUFS instead of vanishing into a counter.
type udpKind struct {
	sc      *scenarios.Scenario
	p       *scenarios.UDPPush
	addr    string
	dialer  *net.Dialer
	payload []byte
	// conns[i] is worker i's socket; owned by that worker's goroutine.
	conns []net.Conn

	ipv6           bool
	bufOnce        sync.Once
	effSnd, effRcv int
	recvErr        bool // read back from the first socket
}

func newUDPPush(env *workers.Env) (workers.Kind, error) {
	sc, addr := env.Scenario, env.Addr
	k := &udpKind{sc: sc, p: sc.UDPPush, addr: addr}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		k.ipv6 = !ap.Addr().Unmap().Is4()
	}
	ipv6 := k.ipv6
	var extra func(fd uintptr) error
	if k.p.RecvErr {
		extra = func(fd uintptr) error { return workers.SetRecvErr(fd, ipv6) }
	}
	// Only the buffer options apply to UDP (validation refuses the rest).
	so := sc.Socket
	so.Linger, so.UserTimeout = -1, 0
	k.dialer = workers.NewDialer(so, extra)
	k.payload = make([]byte, k.p.Size)
	for i := range k.payload {
		k.payload[i] = byte('a' + i%26)
	}
	k.conns = make([]net.Conn, sc.Load.Workers)
	return k, nil
}

func (k *udpKind) Op(ctx context.Context, w *workers.Worker, op uint64) {
	c := k.conns[w.ID]
	if c == nil {
		var err error
		c, err = k.dialer.DialContext(ctx, "udp", k.addr)
		if err != nil {
			w.Fail(ctx, op, errclass.PhaseConnect, err)
			return
		}
		k.conns[w.ID] = c
		k.bufOnce.Do(func() {
			k.effSnd, k.effRcv = workers.BufferSizes(c)
			if raw, err := c.(*net.UDPConn).SyscallConn(); err == nil {
				_ = raw.Control(func(fd uintptr) { k.recvErr = workers.RecvErrOn(fd, k.ipv6) })
			}
		})
	}
	t0 := time.Now()
	if err := c.SetWriteDeadline(t0.Add(k.sc.Socket.IOTimeout.D())); err != nil {
		w.Fail(ctx, op, errclass.PhaseSend, err)
		return
	}
	n, err := c.Write(k.payload)
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseSend, err)
		return
	}
	w.Bytes(n, 0)
	w.OK(time.Since(t0))
}

func (k *udpKind) Report(s *schema.Summary) {
	s.UDPPush = &schema.UDPReport{Size: k.p.Size, RecvErr: k.recvErr}
	if k.p.RecvErr && !workers.RecvErrSupported {
		s.Notes = append(s.Notes, "udp-push: IP_RECVERR is Linux-only; not set on this OS")
	}
	s.UDPPush.Sent = s.Ops.OK
	for _, e := range s.Errors {
		if e.Class == errclass.ClassENOBUFS {
			s.UDPPush.ENOBUFS += e.Count
		}
	}
	s.Socket.EffectiveSndBuf, s.Socket.EffectiveRcvBuf = k.effSnd, k.effRcv
}

func (k *udpKind) Close() {
	for i, c := range k.conns {
		if c != nil {
			_ = c.Close()
			k.conns[i] = nil
		}
	}
}
