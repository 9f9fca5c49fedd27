package kinds

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/wire"
)

// speaker is what every TCP kind shares to speak a protocol's first word:
// it writes the scenario's payload (scenario.wire) on a connection and,
// with an expect, reads the reply, keeps its first line in a per-worker
// table and classifies it by rules. A reply whose rule gives a server
// class (server-refused…) is that class's failure, phase recv. A nil
// *speaker says nothing: every method is a no-op on it.
type speaker struct {
	greeting string
	payload  []byte
	expect   *wire.Expect
	// failing are the rule classes that are failures (the server classes;
	// a greeting's good-answer classes such as resp-pong are only counted).
	failing  map[string]bool
	linesMax int
	// ioTimeout bounds the payload's write (socket.io_timeout).
	ioTimeout time.Duration
	// repeat: say it at every churn burst, fill dead-peer's writes with it.
	repeat bool

	per []speakerWorker // by worker ID, owned by that worker's goroutine
}

// speakerWorker is one worker's counts; read by report after the workers
// exited.
type speakerWorker struct {
	sent, replies, empty uint64
	lines                *wire.Lines
	classes              map[string]uint64
	hist                 *hdrhistogram.Histogram
}

// newSpeaker builds the speaker of a run; nil when the scenario says
// nothing (no wire section).
func newSpeaker(env *workers.Env) (*speaker, error) {
	sc := env.Scenario
	wc := sc.Wire
	if wc == nil {
		return nil, nil
	}
	s := &speaker{greeting: wc.Greeting, failing: map[string]bool{}, linesMax: wc.LinesKept(),
		ioTimeout: sc.Socket.IOTimeout.D(), repeat: wc.Repeat}
	payload, ex, err := wc.Words()
	if err != nil {
		return nil, err
	}
	s.payload = payload
	if ex != nil {
		if rr, ok := env.Target.(workers.ReplyRuler); ok {
			ex.Rules = append(ex.Rules, rr.ReplyRules()...)
		}
		for _, r := range ex.Rules {
			if scenarios.FailingClass(r.Class) {
				s.failing[r.Class] = true
			}
		}
	}
	s.expect = ex
	s.per = make([]speakerWorker, sc.Load.Workers)
	for i := range s.per {
		s.per[i] = speakerWorker{lines: wire.NewLines(s.linesMax), classes: map[string]uint64{}, hist: schema.NewHist()}
	}
	return s, nil
}

// say writes the payload on c and, with an expect, reads the reply. It
// returns the phase and error of a failure for the caller to record (a
// write error, phase send; a read that got no complete reply — eof,
// econnreset, deadline — or a reply of a failing class, phase recv);
// after one the caller ends the connection.
func (s *speaker) say(ctx context.Context, w *workers.Worker, c net.Conn) (errclass.Phase, error) {
	if s == nil {
		return "", nil
	}
	// A stopping run must not wait out the write or the expect's timeout.
	defer context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })()
	sw := &s.per[w.ID]
	t0 := time.Now()
	if len(s.payload) > 0 {
		_ = c.SetWriteDeadline(t0.Add(s.ioTimeout))
		n, err := c.Write(s.payload)
		_ = c.SetWriteDeadline(time.Time{})
		w.Bytes(n, 0)
		if err != nil {
			return errclass.PhaseSend, err
		}
		sw.sent++
	}
	if s.expect == nil {
		return "", nil
	}
	rep := s.expect.Read(c)
	w.Bytes(0, rep.Bytes)
	if rep.Bytes == 0 {
		if ctx.Err() != nil {
			return "", nil // the run stopped: not a reply, not a failure
		}
		sw.empty++
		if rep.Err == nil {
			rep.Err = io.EOF
		}
		return errclass.PhaseRecv, rep.Err
	}
	sw.replies++
	sw.lines.Add(rep.FirstLine)
	schema.Record(sw.hist, time.Since(t0))
	if rep.Class != "" {
		sw.classes[rep.Class]++
		if s.failing[rep.Class] {
			return errclass.PhaseRecv, &errclass.ClassError{Class: errclass.Class(rep.Class), Detail: rep.FirstLine}
		}
	}
	return "", nil
}

// fill fills buf with copies of the payload (dead-peer's writes with
// wire.repeat); false when there is no payload.
func (s *speaker) fill(buf []byte) bool {
	if s == nil || len(s.payload) == 0 {
		return false
	}
	for i := 0; i < len(buf); i += len(s.payload) {
		copy(buf[i:], s.payload)
	}
	return true
}

// report writes the replies' section of the summary and the replies'
// latency.
func (s *speaker) report(sum *schema.Summary) {
	if s == nil {
		return
	}
	r := &schema.RepliesReport{Greeting: s.greeting}
	lines := wire.NewLines(s.linesMax)
	classes := map[string]uint64{}
	hist := schema.NewHist()
	for i := range s.per {
		p := &s.per[i]
		r.Sent += p.sent
		r.Replies += p.replies
		r.Empty += p.empty
		lines.Merge(p.lines)
		for c, n := range p.classes {
			classes[c] += n
		}
		hist.Merge(p.hist)
	}
	for _, l := range lines.Rows() {
		r.Lines = append(r.Lines, schema.LineCount{Line: l.Line, Count: l.Count})
	}
	r.OtherLines = lines.Other()
	for c, n := range classes {
		r.Classes = append(r.Classes, schema.ClassCount{Class: errclass.Class(c), Count: n})
	}
	slices.SortFunc(r.Classes, func(a, b schema.ClassCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Class, b.Class))
	})
	sum.Replies = r
	if s.expect != nil {
		sum.Latency["reply"] = schema.LatencyOf(hist)
	}
}

// hold keeps c open until until (or until ctx ends), reading and
// discarding what the server sends, so that the server's close is seen
// the moment it comes: its FIN as class eof, its RST as econnreset (phase
// recv), recorded on w for operation op. It reports whether the
// connection lived to until; false when the server closed it (recorded)
// or the run stopped (not recorded).
func hold(ctx context.Context, w *workers.Worker, op uint64, c net.Conn, until time.Time) bool {
	if !time.Now().Before(until) {
		return true
	}
	defer context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })()
	defer c.SetReadDeadline(time.Time{})
	if err := c.SetReadDeadline(until); err != nil {
		w.Fail(ctx, op, errclass.PhaseRecv, err)
		return false
	}
	var buf [4096]byte
	for {
		n, err := c.Read(buf[:])
		if n > 0 {
			w.Bytes(0, n)
		}
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return false
		case errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(until):
			return true
		default:
			w.Fail(ctx, op, errclass.PhaseRecv, err)
			return false
		}
	}
}

// closedByPeer looks, without reading, whether the server has closed c:
// its FIN (io.EOF) or a pending reset (see peek). nil when it has not, or
// when c cannot be looked at.
func closedByPeer(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return peek(raw)
}
