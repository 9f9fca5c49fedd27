package sut

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/workers/wire"
)

// These tests launch the real servers (skipping when a binary is absent),
// push each to its limit with valid first words, and check what it logs,
// what the client sees, and what /proc shows at that moment. Each logs a
// "measured:" line; docs/real-servers.md collects them.

// launched is a server started for a test (with Launch).
type launched struct {
	*Launched
	p    *Proc
	logs *LogWatch
	addr string
}

// launch starts srv on a free loopback address (or addr, in netns) with
// params and nofile; Close and a check that nothing is left run when t
// ends.
func launch(t *testing.T, srv Server, netns, addr string, nofile uint64, params map[string]string) *launched {
	t.Helper()
	if _, err := exec.LookPath(srv.Argv[0]); err != nil {
		t.Skipf("%s not installed: %v", srv.Argv[0], err)
	}
	if addr == "" {
		addr = freeAddr(t)
	}
	L, err := Launch(context.Background(), LaunchConfig{Server: srv, RunDir: t.TempDir(), Addr: addr, Netns: netns,
		NoFile: nofile, Params: params, ReadyTimeout: 15 * time.Second, StopGrace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l := &launched{Launched: L, p: L.Proc, logs: L.Logs, addr: addr}
	t.Cleanup(func() {
		p := l.p
		tree := append([]procID{{p.PID(), p.Info().StartTime}}, descendants(p.PID())...)
		if err := l.Close(5 * time.Second); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, id := range tree {
			if !gone(id.pid, id.start) {
				t.Errorf("%s: pid %d still there after Stop", srv.Name, id.pid)
			}
		}
		if s, err := l.Sample(); err != nil || s.Exited == nil {
			t.Errorf("Sample after Close: %+v, %v; want Exited", s.Exited, err)
		}
	})
	t.Logf("%s: %s, ready in %v (nofile %d, %s)", srv.Name, l.p.Info().Version, l.p.Info().Ready.Round(time.Millisecond), nofile, l.p.Info().NoFileMethod)
	return l
}

// waitClass waits (bounded) until the log watch has seen class.
func (l *launched) waitClass(t *testing.T, class string, within time.Duration) Match {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s, _ := l.logs.Sample()
		if m, ok := s.Match(class); ok {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line of class %s within %v; last lines:\n%s", class, within, strings.Join(l.p.Tail(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outcome is what one connection saw.
type outcome struct {
	kind string // a reply class, "eof", "rst", "nothing", "dial: ERR", "line: FIRST LINE"
	line string
}

// span is a run of consecutive connections with the same outcome.
type span struct {
	from, to int // 1-based connection numbers
	outcome
}

func (s span) String() string {
	if s.from == s.to {
		return fmt.Sprintf("#%d %s", s.from, s.kind)
	}
	return fmt.Sprintf("#%d-%d %s", s.from, s.to, s.kind)
}

type spans []span

func (ss spans) String() string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, ", ")
}

// probe opens up to max connections one after the other, each sending the
// greeting and reading its answer (the greeting's Expect with timeout),
// and holds them until t ends. It stops after plateau connections in a row
// got nothing. atFirstBad runs once, right after the first connection whose
// answer is not the greeting's Want.
func probe(t *testing.T, netns, addr string, g wire.Greeting, max, plateau int, timeout time.Duration, atFirstBad func(n int)) ([]net.Conn, spans) {
	t.Helper()
	exp := g.Expect
	exp.Timeout = timeout
	payload := g.Bytes()
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	var out spans
	add := func(n int, o outcome) {
		if k := len(out); k > 0 && out[k-1].kind == o.kind {
			out[k-1].to = n
			return
		}
		out = append(out, span{n, n, o})
	}
	bad, quiet := false, 0
	for n := 1; n <= max && quiet < plateau; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := DialIn(ctx, netns, addr)
		cancel()
		var o outcome
		if err != nil {
			o = outcome{kind: "dial: " + errnoName(err)}
		} else {
			conns = append(conns, c)
			if _, err := c.Write(payload); err != nil {
				o = outcome{kind: "write: " + errnoName(err)}
			} else {
				r := exp.Read(c)
				o = replyOutcome(r)
			}
		}
		add(n, o)
		if o.kind == "nothing" {
			quiet++
		} else {
			quiet = 0
		}
		if !bad && o.kind != g.Want {
			bad = true
			if atFirstBad != nil {
				atFirstBad(n)
			}
		}
	}
	return conns, out
}

func replyOutcome(r wire.Reply) outcome {
	switch {
	case r.Class != "":
		return outcome{kind: r.Class, line: r.FirstLine}
	case r.Bytes > 0:
		return outcome{kind: "line: " + r.FirstLine, line: r.FirstLine}
	case errors.Is(r.Err, io.EOF):
		return outcome{kind: "eof"}
	case errors.Is(r.Err, syscall.ECONNRESET):
		return outcome{kind: "rst"}
	case r.Timeout():
		return outcome{kind: "nothing"}
	}
	return outcome{kind: "error: " + errnoName(r.Err)}
}

func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "timeout"
	}
	return err.Error()
}

// sampleAt returns a function that takes one PIDWatch sample of l into *s.
func (l *launched) sampleAt(t *testing.T, s *PIDSample) func(int) {
	w, err := WatchPID(l.p.PID())
	if err != nil {
		t.Fatal(err)
	}
	return func(int) {
		var err error
		if *s, err = w.Sample(); err != nil {
			t.Errorf("PIDWatch: %v", err)
		}
	}
}

// closedAsOne merges EOF and RST into "closed": which one a client sees
// when the server closes at once depends on whether its request had
// arrived (unread data makes the close a reset).
func closedAsOne(in spans) spans {
	var out spans
	for _, s := range in {
		if s.kind == "eof" || s.kind == "rst" {
			s.kind = "closed"
		}
		if k := len(out); k > 0 && out[k-1].kind == s.kind {
			out[k-1].to = s.to
			continue
		}
		out = append(out, s)
	}
	return out
}

func wantSpans(t *testing.T, got spans, want ...string) {
	t.Helper()
	var kinds []string
	for _, s := range got {
		kinds = append(kinds, s.kind)
	}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("client saw %s; want the outcomes %v in this order", got, want)
	}
}

// TestRedisMaxClients: under RLIMIT_NOFILE 64 redis lowers maxclients to
// 32; the 33rd client gets "-ERR max number of clients reached", then the
// connection is closed: EOF, or RST when its PING was still unread.
func TestRedisMaxClients(t *testing.T) {
	l := launch(t, Redis, "", "", 64, nil)
	m := l.waitClass(t, ClassServerFDLow, time.Second)
	if !strings.Contains(m.FirstLine, "maxclients has been reduced to 32") {
		t.Errorf("redis said %q, want maxclients reduced to 32", m.FirstLine)
	}
	var at PIDSample
	conns, got := probe(t, "", l.addr, wire.RESPPing, 40, 3, 2*time.Second, l.sampleAt(t, &at))
	wantSpans(t, got, wire.ClassRESPPong, wire.ClassServerRefused)
	if got[0].to != 32 {
		t.Errorf("%d clients answered +PONG, want 32", got[0].to)
	}
	// The refused connections are closed by redis after the -ERR line.
	var after spans
	for i, c := range conns[32:] {
		o := replyOutcome((wire.Expect{Timeout: 2 * time.Second}).Read(c))
		after = append(after, span{33 + i, 33 + i, o})
	}
	after = closedAsOne(after)
	wantSpans(t, after, "closed")
	for _, c := range conns {
		c.Close()
	}
	ts, err := l.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ts.Logs.Match(ClassServerFDLow); !ok || len(ts.Listen) != 1 || ts.Listen[0].Backlog != 511 || ts.Proc.Procs[0].NoFileSoft != 64 {
		t.Errorf("Launched.Sample() = %+v, want the fd-low class, the listener (backlog 511), nofile 64", ts)
	}
	rej := redisInfo(t, l.addr, "rejected_connections")
	b := at.Busiest()
	t.Logf("measured: redis nofile 64: %q; client: %s, then %s; fds at the 33rd %d/%d; INFO rejected_connections:%s",
		m.FirstLine, got, after, b.FDs, b.NoFileSoft, rej)
	if rej != "8" {
		t.Errorf("rejected_connections %s, want 8", rej)
	}
}

// redisInfo reads one field of INFO, retrying while redis frees the
// closed connections.
func redisInfo(t *testing.T, addr, field string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := func() (string, error) {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return "", err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte("INFO stats\r\n")); err != nil {
				return "", err
			}
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
					return strings.TrimSpace(v), nil
				}
				if strings.HasPrefix(sc.Text(), "-ERR") {
					return "", errors.New(sc.Text())
				}
			}
			return "", fmt.Errorf("no %s in INFO: %v", field, sc.Err())
		}()
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNginxNoFile: under RLIMIT_NOFILE 32, nginx warns at start, then its
// worker logs accept4() EMFILE; clients past the plateau get nothing (they
// wait in the accept queue).
func TestNginxNoFile(t *testing.T) {
	l := launch(t, Nginx, "", "", 32, nil)
	warn := l.waitClass(t, ClassServerFDLow, 2*time.Second)
	var at PIDSample
	_, got := probe(t, "", l.addr, wire.HTTPGet, 100, 5, 300*time.Millisecond, l.sampleAt(t, &at))
	m := l.waitClass(t, ClassServerEMFILE, 2*time.Second)
	wantSpans(t, got, wire.ClassHTTPOK, "nothing")
	b := at.Busiest()
	if b.FDs != int(b.NoFileSoft) || b.NoFileSoft != 32 {
		t.Errorf("busiest process at the plateau: %d/%d fds, want 32/32", b.FDs, b.NoFileSoft)
	}
	q := listenQueue(t, "", l.addr)
	t.Logf("measured: nginx nofile 32 (master on, 1 worker, worker_connections 512): %q then %q; client: %s; worker fds %d/%d (pid %d %s), accept queue %s; %d processes",
		warn.FirstLine, m.FirstLine, got, b.FDs, b.NoFileSoft, b.PID, b.Comm, q, len(at.Procs))
}

// listenQueue reads the accept queue of the listener on addr via sock_diag.
func listenQueue(t *testing.T, netns, addr string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	pn, _ := strconv.Atoi(port)
	qs, err := ListenQueues(netns, uint16(pn))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, q := range qs {
		parts = append(parts, fmt.Sprintf("%d/%d", q.Queue, q.Backlog))
	}
	return strings.Join(parts, " ")
}

// TestNginxWorkerConnections: worker_connections 16 (one process,
// master_process off) with plenty of descriptors. Complete requests: nginx
// says "16 worker_connections are not enough, reusing connections", answers
// everyone and closes idle keep-alive connections to make room (the client
// sees EOF on them later). Requests that never end cannot be reused: "16
// worker_connections are not enough", and nginx accepts each further
// client only to close it at once (EOF); nothing waits in the accept queue.
func TestNginxWorkerConnections(t *testing.T) {
	params := map[string]string{"WorkerConnections": "16", "MasterProcess": "off"}
	l := launch(t, Nginx, "", "", 1024, params)
	conns, got := probe(t, "", l.addr, wire.HTTPGet, 40, 5, 300*time.Millisecond, nil)
	m := l.waitClass(t, ClassServerWorkerConnections, 2*time.Second)
	wantSpans(t, got, wire.ClassHTTPOK)
	closed := 0
	for _, c := range conns {
		// Skip the rest of the answer, then see whether nginx closed it.
		r := (wire.Expect{Binary: true, MaxBytes: 4096, Timeout: 50 * time.Millisecond}).Read(c)
		if errors.Is(r.Err, io.EOF) {
			closed++
		}
	}
	if closed == 0 {
		t.Errorf("no idle connection closed by nginx; want some reused")
	}
	t.Logf("measured: nginx worker_connections 16, nofile 1024, complete requests: %q; client: %s; %d of them closed by nginx afterwards (EOF)", m.FirstLine, got, closed)

	l = launch(t, Nginx, "", "", 1024, params)
	slow := wire.Greeting{Name: "http-headers-unfinished", Payload: wire.Payload{Text: `GET / HTTP/1.1\r\nHost: localhost\r\n`}, Want: "nothing"}
	var at PIDSample
	_, got = probe(t, "", l.addr, slow, 30, 30, 50*time.Millisecond, nil)
	m = l.waitClass(t, ClassServerWorkerConnections, 2*time.Second)
	wantSpans(t, closedAsOne(got), "nothing", "closed")
	if got[0].to != 15 {
		t.Errorf("%d connections held, want 15 (16 slots: the listener and 15 clients)", got[0].to)
	}
	if strings.Contains(m.FirstLine, "reusing") {
		t.Errorf("nginx said %q; want no reuse with every connection busy", m.FirstLine)
	}
	l.sampleAt(t, &at)(0)
	q := listenQueue(t, "", l.addr)
	t.Logf("measured: nginx worker_connections 16, 30 unfinished requests: %q; client: %s; fds %d/%d; accept queue %s", m.FirstLine, got, at.Busiest().FDs, at.Busiest().NoFileSoft, q)
	if q != "0/511" {
		t.Errorf("accept queue %s, want 0/511 (nginx accepts and closes)", q)
	}
}

// warmTor makes one TLS handshake with a relay just started, waiting as
// long as it takes (its first handshake can take seconds on a loaded
// machine), then closes it: the probe that follows measures the limit,
// not the start-up.
func warmTor(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp := wire.TLSClientHello.Expect
	exp.Timeout = 20 * time.Second
	if _, err := c.Write(wire.TLSClientHello.Bytes()); err != nil {
		t.Fatal(err)
	}
	if r := exp.Read(c); r.Class != wire.ClassTLSServerHello {
		t.Fatalf("tor's first handshake: %+v, want a ServerHello", r)
	}
}

// TestTorConnLimit: ConnLimit 64 with RLIMIT_NOFILE 100: tor's limit is
// 100 - 32 = 68 sockets; "Failing because we have 67 connections already"
// and the client sees a plateau.
func TestTorConnLimit(t *testing.T) {
	l := launch(t, Tor, "", "", 100, map[string]string{"ConnLimit": "64"})
	warmTor(t, l.addr)
	var at PIDSample
	_, got := probe(t, "", l.addr, wire.TLSClientHello, 120, 5, time.Second, l.sampleAt(t, &at))
	m := l.waitClass(t, ClassServerConnLimit, 3*time.Second)
	if !strings.Contains(m.FirstLine, "Failing because we have 67 connections already") {
		t.Errorf("tor said %q, want 67 connections", m.FirstLine)
	}
	wantSpans(t, got, wire.ClassTLSServerHello, "nothing")
	b := at.Busiest()
	t.Logf("measured: tor ConnLimit 64, nofile 100: %q; client: %s; fds %d/%d; accept queue %s",
		m.FirstLine, got, b.FDs, b.NoFileSoft, listenQueue(t, "", l.addr))
}

// TestTorNoFile1100: 1400 connections against RLIMIT_NOFILE 1100:
// "Failing because we have 1067 connections already".
func TestTorNoFile1100(t *testing.T) {
	if testing.Short() {
		t.Skip("short: 1100 TLS handshakes")
	}
	l := launch(t, Tor, "", "", 1100, nil)
	warmTor(t, l.addr)
	var at PIDSample
	_, got := probe(t, "", l.addr, wire.TLSClientHello, 1400, 5, 2*time.Second, l.sampleAt(t, &at))
	m := l.waitClass(t, ClassServerConnLimit, 3*time.Second)
	if !strings.Contains(m.FirstLine, "Failing because we have 1067 connections already") {
		t.Errorf("tor said %q, want 1067 connections", m.FirstLine)
	}
	wantSpans(t, got, wire.ClassTLSServerHello, "nothing")
	b := at.Busiest()
	t.Logf("measured: tor nofile 1100: %q; client: %s; fds %d/%d", m.FirstLine, got, b.FDs, b.NoFileSoft)
}

// TestTorStartLimit: with the default ConnLimit (1000) tor refuses to
// start below 1000 descriptors and says so; at 1000 it starts.
func TestTorStartLimit(t *testing.T) {
	if _, err := exec.LookPath("tor"); err != nil {
		t.Skipf("tor not installed: %v", err)
	}
	for _, nofile := range []uint64{255, 999} {
		spec, err := Tor.Spec(t.TempDir(), freeAddr(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		spec.NoFile = nofile
		p, err := Start(context.Background(), spec, "")
		var ee *ExitError
		if !errors.As(err, &ee) {
			if p != nil {
				p.Stop(time.Second)
			}
			t.Fatalf("nofile %d: Start = %v, want an *ExitError", nofile, err)
		}
		logs, _ := NewLogWatch(Tor.Rules)
		line := ""
		for _, l := range ee.Tail {
			if logs.Feed(l, time.Now()) == ClassServerFDTooLow {
				line = l
			}
		}
		want := fmt.Sprintf("We need 1000 file descriptors available, and we're limited to %d.", nofile)
		if !strings.Contains(line, want) {
			t.Errorf("nofile %d: tail %q, want a line with %q", nofile, ee.Tail, want)
		}
		t.Logf("measured: tor nofile %d: refuses to start (%s): %q", nofile, ee.Status, line)
	}
	l := launch(t, Tor, "", "", 1000, nil)
	t.Logf("measured: tor nofile 1000: starts, ready in %v", l.p.Info().Ready.Round(time.Millisecond))
}

// TestTorConstrainedSockets: ConstrainedSockets 1 with ConstrainedSockSize
// 8192 logs nothing, but the accepted sockets' buffers show it (the kernel
// keeps twice the size asked): 16384 bytes each, against the defaults.
func TestTorConstrainedSockets(t *testing.T) {
	bufs := func(params map[string]string) (rcv, snd uint32, lines []string) {
		l := launch(t, Tor, "", "", 0, params)
		probe(t, "", l.addr, wire.TLSClientHello, 1, 1, 3*time.Second, nil)
		_, port, _ := net.SplitHostPort(l.addr)
		pn, _ := strconv.Atoi(port)
		d, err := OpenDiag("")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		socks, err := d.Sockets(DiagQuery{States: []uint8{StateEstablished}, Port: uint16(pn), Mem: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(socks) != 1 {
			t.Fatalf("%d accepted sockets on %s, want 1", len(socks), l.addr)
		}
		return socks[0].RcvBuf, socks[0].SndBuf, l.p.Tail()
	}
	rcv, snd, lines := bufs(map[string]string{"ConstrainedSockets": "1", "ConstrainedSockSize": "8192"})
	if rcv != 16384 || snd != 16384 {
		t.Errorf("constrained: accepted socket rcvbuf %d sndbuf %d, want 16384 each", rcv, snd)
	}
	for _, l := range lines {
		if regexp.MustCompile(`(?i)constrained`).MatchString(l) {
			t.Logf("tor mentions it: %s", l)
		}
	}
	drcv, dsnd, _ := bufs(nil)
	if drcv <= rcv || dsnd <= snd {
		t.Errorf("default buffers %d/%d not above the constrained %d/%d", drcv, dsnd, rcv, snd)
	}
	t.Logf("measured: tor ConstrainedSockets 1, ConstrainedSockSize 8192: accepted socket rcvbuf %d sndbuf %d (default %d/%d); no log line at notice", rcv, snd, drcv, dsnd)
}

// backend is a TCP listener that answers every line with "+PONG\r\n" (a
// stand-in for a nobufs listener behind haproxy).
func backend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	conns := make(chan net.Conn, 1024)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := c.Write([]byte("+PONG\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestHAProxyMaxConn: global maxconn 20: the 21st client gets nothing
// (haproxy stops accepting; the kernel queues it) and haproxy logs nothing.
func TestHAProxyMaxConn(t *testing.T) {
	l := launch(t, HAProxy, "", "", 0, map[string]string{"MaxConn": "20", "Backend": backend(t)})
	var at PIDSample
	_, got := probe(t, "", l.addr, wire.RESPPing, 40, 5, 300*time.Millisecond, l.sampleAt(t, &at))
	wantSpans(t, got, wire.ClassRESPPong, "nothing")
	if got[0].to != 20 {
		t.Errorf("%d clients answered, want 20 (maxconn)", got[0].to)
	}
	s, _ := l.logs.Sample()
	b := at.Busiest()
	t.Logf("measured: haproxy maxconn 20: client: %s; log classes %v; fds %d/%d; accept queue %s",
		got, s.Matches, b.FDs, b.NoFileSoft, listenQueue(t, "", l.addr))
}

// TestHAProxyLowFD: haproxy sizes its descriptors from maxconn: under a
// smaller RLIMIT_NOFILE it refuses to start; a limit lowered while it runs
// (prlimit) makes it log "reached process FD limit", and clients get EOF.
func TestHAProxyLowFD(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skipf("haproxy not installed: %v", err)
	}
	be := backend(t)
	spec, err := HAProxy.Spec(t.TempDir(), freeAddr(t), map[string]string{"Backend": be})
	if err != nil {
		t.Fatal(err)
	}
	spec.NoFile = 64
	_, err = Start(context.Background(), spec, "")
	var ee *ExitError
	if !errors.As(err, &ee) || len(ee.Tail) == 0 || !regexp.MustCompile(`Cannot raise FD limit to \d+, limit is 64`).MatchString(strings.Join(ee.Tail, "\n")) {
		t.Fatalf("nofile 64: %v (tail %q), want an ExitError saying it cannot raise its FD limit", err, ee.Tail)
	}
	t.Logf("measured: haproxy maxconn 100, nofile 64: refuses to start (%s): %q", ee.Status, ee.Tail[len(ee.Tail)-1])

	l := launch(t, HAProxy, "", "", 0, map[string]string{"Backend": be})
	lim := unix.Rlimit{Cur: 30, Max: 30}
	if err := unix.Prlimit(l.p.PID(), unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	var at PIDSample
	_, got := probe(t, "", l.addr, wire.RESPPing, 30, 5, time.Second, l.sampleAt(t, &at))
	m := l.waitClass(t, ClassServerEMFILE, 2*time.Second)
	// Past the limit, a client either waits (accept failed: the listener
	// pauses) or is closed (accepted, but no socket for the server side).
	if len(got) < 2 || got[0].kind != wire.ClassRESPPong || !slices.Contains([]string{"nothing", "closed"}, closedAsOne(got)[1].kind) {
		t.Errorf("client saw %s; want +PONG, then nothing or closed", got)
	}
	b := at.Busiest()
	t.Logf("measured: haproxy nofile lowered to 30 while running: %q; client: %s; fds %d/%d", m.FirstLine, got, b.FDs, b.NoFileSoft)
}

// TestGreetingsAgainstServers: each wire greeting gets its good answer
// from the real server.
func TestGreetingsAgainstServers(t *testing.T) {
	socks := freeAddr(t)
	tor := launch(t, Tor, "", "", 0, map[string]string{"SocksPort": socks})
	ngx := launch(t, Nginx, "", "", 0, nil)
	rds := launch(t, Redis, "", "", 0, nil)
	for _, tt := range []struct {
		g    wire.Greeting
		addr string
		want string
	}{
		{wire.HTTPGet, ngx.addr, "HTTP/1.1 200 OK"},
		{wire.RESPPing, rds.addr, "+PONG"},
		{wire.SOCKS5Hello, socks, `\x05\0`},
		{wire.TLSClientHello, tor.addr, ""},
	} {
		_, got := probe(t, "", tt.addr, tt.g, 1, 1, 3*time.Second, nil)
		if len(got) != 1 || got[0].kind != tt.g.Want || (tt.want != "" && got[0].line != tt.want) {
			t.Errorf("%s to %s: %s (%q), want %s %q", tt.g.Name, tt.addr, got, got[0].line, tt.g.Want, tt.want)
		}
		t.Logf("measured: greeting %s: %s %s", tt.g.Name, got[0].kind, got[0].line)
	}
	// Garbage on the SOCKS port: the user trial's "Socks version 0 not recognized".
	c, err := net.Dial("tcp", socks)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0, 0, 0})
	m := tor.waitClass(t, ClassServerBadRequest, 3*time.Second)
	t.Logf("measured: tor SocksPort, 4 zero bytes: %q", m.FirstLine)
}

// TestServerInNetns: nginx (master and worker) in a network namespace the
// test made: reachable on that namespace's loopback only; Stop ends both.
func TestServerInNetns(t *testing.T) {
	needRoot(t)
	ns := newNetns(t)
	l := launch(t, Nginx, ns, "127.0.0.1:8080", 0, nil)
	tree := descendants(l.p.PID()) // the worker comes after the listener: wait for it
	for deadline := time.Now().Add(5 * time.Second); len(tree) < 1 && time.Now().Before(deadline); tree = descendants(l.p.PID()) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(tree) != 1 {
		t.Errorf("nginx master has %d children, want 1 worker", len(tree))
	}
	_, got := probe(t, ns, l.addr, wire.HTTPGet, 1, 1, 3*time.Second, nil)
	wantSpans(t, got, wire.ClassHTTPOK)
	if c, err := net.DialTimeout("tcp", l.addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s reachable from the host namespace", l.addr)
	}
	if err := l.p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(tree, procID{l.p.PID(), l.p.Info().StartTime}) {
		if !gone(id.pid, id.start) {
			t.Errorf("pid %d still there", id.pid)
		}
	}
	t.Logf("measured: nginx in %s: %s; stopped with its worker", ns, got)
}

// TestNginxStopEndsWorkers: in nobufs's PID namespace, SIGTERM to the
// master ends its workers (nginx does it itself).
func TestNginxStopEndsWorkers(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skipf("nginx not installed: %v", err)
	}
	spec, err := Nginx.Spec(t.TempDir(), freeAddr(t), map[string]string{"WorkerProcesses": "2"})
	if err != nil {
		t.Fatal(err)
	}
	spec.SharePIDNamespace = true
	p, err := Start(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(descendants(p.PID())) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	workers := descendants(p.PID())
	if len(workers) != 2 {
		t.Errorf("%d workers, want 2", len(workers))
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Exit(); st.Code != 0 || st.Signal != "" {
		t.Errorf("master ended with %v, want exit 0 on SIGTERM", st)
	}
	for _, w := range workers {
		if !gone(w.pid, w.start) {
			t.Errorf("worker %d still there", w.pid)
		}
	}
}
