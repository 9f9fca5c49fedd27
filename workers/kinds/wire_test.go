package kinds_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// serve is testkit.Serve: a scripted server on loopback.
func serve(t *testing.T, fn func(i int, c *net.TCPConn)) string { return testkit.Serve(t, fn) }

// drain reads c until the client closes it (or it fails).
func drain(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

func errCount(s *schema.Summary, phase errclass.Phase, class errclass.Class) uint64 {
	n, _, _ := errorOf(s, phase, class)
	return n
}

func lineCount(r *schema.RepliesReport, line string) uint64 {
	if r == nil {
		return 0
	}
	for _, l := range r.Lines {
		if l.Line == line {
			return l.Count
		}
	}
	return 0
}

// TestWireRepliesAndRefusal: every connection says RESP's PING; the
// server answers the first three +PONG and the fourth as redis does past
// maxclients. The refusal is a failure of its own class with its time,
// and the summary groups the replies by first line.
func TestWireRepliesAndRefusal(t *testing.T) {
	addr := serve(t, func(i int, c *net.TCPConn) {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "PING\r\n" {
			return
		}
		if i <= 3 {
			_, _ = c.Write([]byte("+PONG\r\n"))
			drain(c)
			return
		}
		_, _ = c.Write([]byte("-ERR max number of clients reached\r\n"))
	})
	sc := testkit.Parse(t, fmt.Sprintf(`
name: wire-refusal
kind: port-exhaustion
target: {address: %q}
load: {workers: 1}
wire: {greeting: resp-ping}
stop: {duration: 5s}
failure: {classes: [server-refused]}
`, addr))
	r := testrun.Run(t, context.Background(), sc, workers.Options{})
	f := r.Sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassServerRefused || f.Phase != errclass.PhaseRecv || f.OKBefore != 3 || f.Op != 4 {
		t.Fatalf("time to failure = %+v, want recv/server-refused at op 4 after 3 ok", f)
	}
	rep := r.Sum.Replies
	for _, c := range []struct {
		line string
		want uint64
	}{{"+PONG", 3}, {"-ERR max number of clients reached", 1}} {
		if got := lineCount(rep, c.line); got != c.want {
			t.Errorf("replies %q: got %d, want %d (%+v)", c.line, got, c.want, rep)
		}
	}
	if rep == nil || rep.Sent != 4 || rep.Replies != 4 || rep.Greeting != "resp-ping" {
		t.Errorf("replies = %+v, want 4 sent, 4 replies, greeting resp-ping", rep)
	}
	if l := r.Sum.Latency["reply"]; l.Count != 4 {
		t.Errorf("reply latency count: got %d, want 4", l.Count)
	}
}

// TestWireHeldConnectionsClosedByServer: half-open holds what it
// completed; a server that closes some (FIN) and resets others (RST) is
// seen doing so, each counted with phase recv — not reported as held.
func TestWireHeldConnectionsClosedByServer(t *testing.T) {
	addr := serve(t, func(i int, c *net.TCPConn) {
		if i%3 == 0 { // hold it
			drain(c)
			return
		}
		// Close once the client's connect has surely returned: a reset
		// racing the handshake would end the connect, not the hold.
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Read(make([]byte, 1))
		if i%3 == 2 { // RST, else FIN
			_ = c.SetLinger(0)
		}
	})
	sc := testkit.Parse(t, fmt.Sprintf(`
name: wire-held
kind: half-open
target: {address: %q}
load: {workers: 6}
half_open: {hold: 10s}
stop: {duration: 1500ms, max_ops: 6}
failure: {classes: [eof, econnreset]}
`, addr))
	r := testrun.Run(t, context.Background(), sc, workers.Options{SampleEvery: 100 * time.Millisecond})
	if got := errCount(r.Sum, errclass.PhaseRecv, errclass.ClassEOF); got != 2 {
		t.Errorf("recv/eof: got %d, want 2 (errors %+v)", got, r.Sum.Errors)
	}
	if got := errCount(r.Sum, errclass.PhaseRecv, errclass.ClassECONNRESET); got != 2 {
		t.Errorf("recv/econnreset: got %d, want 2 (errors %+v)", got, r.Sum.Errors)
	}
	if f := r.Sum.TimeToFailure; f == nil || f.AtSec > 1 {
		t.Errorf("time to failure = %+v, want the first close within a second", f)
	}
	seen := 0
	for _, smp := range r.Samples {
		if smp.Elapsed < 0.3 || smp.Elapsed > 1.2 {
			continue // closes still coming; the run stopping
		}
		seen++
		if held, _ := smp.Extra["held"].(float64); held != 2 {
			t.Errorf("held at %.2fs: got %v, want 2", smp.Elapsed, smp.Extra["held"])
		}
	}
	if seen == 0 {
		t.Error("no sample between 0.3 s and 1.2 s")
	}
}

// TestWireChurnIdleAndRepeat: against a line server, churn says its
// payload once and holds the connection idle (a server's close is seen
// when it comes), or with repeat says it at every burst.
func TestWireChurnIdleAndRepeat(t *testing.T) {
	addr := serve(t, func(i int, c *net.TCPConn) {
		br := bufio.NewReader(c)
		for n := 0; ; n++ {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			if _, err := c.Write([]byte("OK\n")); err != nil {
				return
			}
			if i%2 == 0 && n == 0 {
				time.Sleep(100 * time.Millisecond)
				return // closes every second connection after its first answer
			}
		}
	})
	for _, tt := range []struct {
		name      string
		repeat    bool
		minBursts uint64
	}{{"idle", false, 4}, {"repeat", true, 12}} {
		t.Run(tt.name, func(t *testing.T) {
			sc := testkit.Parse(t, fmt.Sprintf(`
name: wire-churn
kind: churn
target: {address: %q}
load: {workers: 4}
wire: {payload: {text: 'HELLO\n'}, expect: {}, repeat: %v}
churn: {lifetime: fixed(400ms), gap: fixed(50ms)}
stop: {duration: 5s, max_ops: 4, on_failure: false}
failure: {classes: [eof, econnreset]}
`, addr, tt.repeat))
			r := testrun.Run(t, context.Background(), sc, workers.Options{})
			// A close with the next request unread is a reset (repeat).
			if n := errCount(r.Sum, errclass.PhaseRecv, errclass.ClassEOF) + errCount(r.Sum, errclass.PhaseRecv, errclass.ClassECONNRESET); n != 2 {
				t.Errorf("recv/eof and recv/econnreset: got %d, want 2, the server's closes (errors %+v)", n, r.Sum.Errors)
			}
			if f := r.Sum.TimeToFailure; f == nil || f.AtSec > 0.35 {
				t.Errorf("time to failure %+v: the close (~100 ms) must be seen before the lifetime (400 ms) ends", f)
			}
			if got := lineCount(r.Sum.Replies, "OK"); got < tt.minBursts {
				t.Errorf("OK replies: got %d, want at least %d", got, tt.minBursts)
			}
			if ch := r.Sum.Churn; ch == nil || ch.Bursts < tt.minBursts {
				t.Errorf("churn = %+v, want at least %d bursts", ch, tt.minBursts)
			}
		})
	}
}

// TestWireDeadPeerFINAndPayload: dead-peer fills its writes with the
// payload (repeat) and sees a server's FIN, which ends the connection.
func TestWireDeadPeerFINAndPayload(t *testing.T) {
	if !workers.SockInfoSupported {
		t.Skip("the FIN is seen in TCP_INFO's state (Linux)")
	}
	var gotPayload atomic.Bool
	addr := serve(t, func(i int, c *net.TCPConn) {
		buf := make([]byte, 30)
		if _, err := io.ReadFull(c, buf); err == nil && bytes.Equal(buf, bytes.Repeat([]byte("hello\n"), 5)) {
			gotPayload.Store(true)
		}
		time.Sleep(100 * time.Millisecond)
		_ = c.CloseWrite() // FIN; keeps reading nothing
		time.Sleep(2 * time.Second)
	})
	sc := testkit.Parse(t, fmt.Sprintf(`
name: wire-dead-peer
kind: dead-peer
target: {address: %q}
load: {workers: 1}
wire: {payload: {text: 'hello\n'}, repeat: true}
dead_peer: {chunk: 6000}
stop: {duration: 1s}
failure: {classes: [eof]}
`, addr))
	r := testrun.Run(t, context.Background(), sc, workers.Options{})
	if !gotPayload.Load() {
		t.Error("the server did not read the payload repeated in the writes")
	}
	if f := r.Sum.TimeToFailure; f == nil || f.Class != errclass.ClassEOF || f.Phase != errclass.PhaseRecv {
		t.Errorf("time to failure = %+v, want recv/eof (errors %+v)", f, r.Sum.Errors)
	}
}
