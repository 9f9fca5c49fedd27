package kinds

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// methodSystem is the method reported when no range was given: the kernel
// picks ports from the system's range, nothing is set on the socket.
const methodSystem = "system"

// portKind dials short connections from a bounded source-port range:
// dial, optionally exchange a few bytes, close.
type portKind struct {
	sc     *scenarios.Scenario
	p      *scenarios.PortExhaustion
	addr   string
	env    *workers.Env
	dialer *net.Dialer
	method string
	lo, hi int
	srcIP  net.IP
	cursor atomic.Uint64

	payload []byte
	say     *speaker // scenario.wire: the first word and its reply

	bufOnce        sync.Once
	effSnd, effRcv int
	recoveredAt    atomic.Int64  // ns since start of the first success after failure; 0 none
	skipped        atomic.Uint64 // busy ports skipped by dialBound
	// extra is the kind's own socket option (the port range), for the
	// event loop (portexhaust_linux.go); pollers are its workers' loops
	// in the open model.
	extra   func(fd uintptr) error
	pollers []*pollerSlot
}

func newPortExhaustion(env *workers.Env) (workers.Kind, error) {
	sc, addr := env.Scenario, env.Addr
	p := sc.PortExhaustion
	k := &portKind{sc: sc, p: p, addr: addr, env: env, method: p.Method}
	lo, hi, ranged := p.PortRange()
	if ranged {
		k.lo, k.hi = lo, hi
	}
	// The kernel honours IP_LOCAL_PORT_RANGE only inside the system's
	// ip_local_port_range (it clamps the socket's range to it, and ignores
	// bounds outside it), so a range such as Windows' 1025-5000 needs binds.
	optionOK := ranged && hostfacts.PortRangeOptionSupported() && insideSystemRange(lo, hi)
	if k.method == scenarios.PortMethodAuto {
		k.method = scenarios.PortMethodBind
		if optionOK {
			k.method = scenarios.PortMethodOption
		}
		if !ranged {
			k.method = methodSystem // nothing is set on the socket
		}
	}
	if k.method == scenarios.PortMethodOption && ranged && !optionOK {
		return nil, fmt.Errorf("port_exhaustion.method: option: needs Linux >= 6.3 (IP_LOCAL_PORT_RANGE) and a range inside net.ipv4.ip_local_port_range; use method: bind or auto")
	}
	var extra func(fd uintptr) error
	if ranged && k.method == scenarios.PortMethodOption {
		extra = func(fd uintptr) error { return workers.SetPortRange(fd, lo, hi) }
	}
	if ranged && k.method == scenarios.PortMethodBind {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, fmt.Errorf("target address %q: %w", addr, err)
		}
		if ap.Addr().Unmap().Is4() {
			k.srcIP = net.IPv4zero
		} else {
			k.srcIP = net.IPv6unspecified
		}
	}
	k.dialer = workers.NewDialer(sc.Socket, extra)
	k.extra = extra
	k.pollers = make([]*pollerSlot, sc.Load.Workers)
	var err error
	if k.say, err = newSpeaker(env); err != nil {
		return nil, err
	}
	if p.Exchange > 0 {
		k.payload = make([]byte, p.Exchange)
		for i := range k.payload {
			k.payload[i] = byte('a' + i%26)
		}
	}
	if k.say != nil {
		// The speaker (greeting, payload, expected reply) works on a
		// net.Conn: Go's dialer, one goroutine per connection, no loop.
		return portStd{k}, nil
	}
	return k, nil
}

// portStd is port exhaustion through Go's dialer on every system: the
// kind when the connections say something (scenario.wire). It is no
// Looper, so the engine runs one goroutine per worker.
type portStd struct{ k *portKind }

func (s portStd) Op(ctx context.Context, w *workers.Worker, op uint64) { s.k.opStd(ctx, w, op) }
func (s portStd) Report(sum *schema.Summary)                           { s.k.Report(sum) }
func (s portStd) Close()                                               { s.k.Close() }

// opStd is one operation through Go's dialer: the path on systems
// without the event loop (portexhaust_other.go) and of portStd; on Linux
// the event loop does the same job otherwise (portexhaust_linux.go).
func (k *portKind) opStd(ctx context.Context, w *workers.Worker, op uint64) {
	t0 := time.Now()
	var c net.Conn
	var err error
	if k.srcIP != nil {
		c, err = k.dialBound(ctx)
	} else {
		c, err = k.dialer.DialContext(ctx, "tcp", k.addr)
	}
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseConnect, err)
		return
	}
	w.Connected(time.Since(t0))
	defer w.Closed()
	// A stopping run must not wait out io_timeout in a blocked read.
	defer context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })()
	k.bufOnce.Do(func() { k.effSnd, k.effRcv = workers.BufferSizes(c) })
	if phase, err := k.say.say(ctx, w, c); err != nil {
		_ = c.Close()
		w.Fail(ctx, op, phase, err)
		return
	}
	if err := k.exchange(c); err != nil {
		_ = c.Close()
		w.Fail(ctx, op, errclass.PhaseRecv, err)
		return
	}
	if err := c.Close(); err != nil {
		w.Fail(ctx, op, errclass.PhaseClose, err)
		return
	}
	w.Bytes(len(k.payload), len(k.payload))
	if ttf := k.env.TimeToFailure(); ttf != nil && op > ttf.Op && k.recoveredAt.Load() == 0 {
		k.recoveredAt.CompareAndSwap(0, int64(w.Since()))
	}
	w.OK(time.Since(t0))
}

// dialBound dials from the next free port of the range, as the kernel's
// own port selection would: a port that is busy (bind: EADDRINUSE, held by
// a TIME_WAIT or by another program) is skipped, and the dial fails only
// when every port of the range was tried.
func (k *portKind) dialBound(ctx context.Context) (net.Conn, error) {
	size := uint64(k.hi - k.lo + 1)
	var err error
	for range size {
		port := k.lo + int((k.cursor.Add(1)-1)%size)
		dd := *k.dialer
		dd.LocalAddr = &net.TCPAddr{IP: k.srcIP, Port: port}
		var c net.Conn
		c, err = dd.DialContext(ctx, "tcp", k.addr)
		if err == nil {
			return c, nil
		}
		if key := errclass.Classify(err, errclass.PhaseConnect); key.Phase != errclass.PhaseBind || key.Class != errclass.ClassEADDRINUSE || ctx.Err() != nil {
			return nil, err
		}
		k.skipped.Add(1)
	}
	return nil, err
}

// exchange does what happens between connect and close: write the payload
// and read it back, or wait for the server to close first.
func (k *portKind) exchange(c net.Conn) error {
	if err := workers.AfterConnect(c, k.sc.Socket); err != nil {
		return err
	}
	if len(k.payload) == 0 && k.p.CloseFirst != scenarios.CloseServer {
		return nil
	}
	if err := c.SetDeadline(time.Now().Add(k.sc.Socket.IOTimeout.D())); err != nil {
		return err
	}
	if len(k.payload) > 0 {
		if _, err := c.Write(k.payload); err != nil {
			return err
		}
		buf := make([]byte, len(k.payload))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
	}
	if k.p.CloseFirst == scenarios.CloseServer {
		// Wait for the server's FIN so TIME_WAIT lands on its side.
		var b [1]byte
		if _, err := c.Read(b[:]); err != io.EOF {
			if err == nil {
				return fmt.Errorf("server sent data before closing")
			}
			return err
		}
	}
	return nil
}

func (k *portKind) Report(s *schema.Summary) {
	r := &schema.PortReport{Method: k.method}
	if k.p.SourcePorts != "" {
		r.Low, r.High, r.RangeSize = k.lo, k.hi, k.hi-k.lo+1
	}
	if ttf := s.TimeToFailure; ttf != nil {
		n := ttf.OKBefore
		r.ConnectsBeforeFailure = &n
	}
	if at := k.recoveredAt.Load(); at > 0 {
		sec := time.Duration(at).Seconds()
		r.RecoveredAtSec = &sec
	}
	r.BusySkipped = k.skipped.Load()
	s.PortExhaustion = r
	k.say.report(s)
	s.Socket.EffectiveSndBuf, s.Socket.EffectiveRcvBuf = k.effSnd, k.effRcv
}

// insideSystemRange reports whether [lo, hi] lies inside the system's
// ephemeral port range (Linux's net.ipv4.ip_local_port_range).
func insideSystemRange(lo, hi int) bool {
	v, err := hostfacts.ReadSysctl("/proc/sys", "net.ipv4.ip_local_port_range")
	if err != nil {
		return false
	}
	var slo, shi int
	if _, err := fmt.Sscanf(v, "%d %d", &slo, &shi); err != nil {
		return false
	}
	return slo <= lo && hi <= shi
}
