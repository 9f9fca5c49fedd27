package workers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// TestDraw checks each distribution's sample mean against its true mean
// (a fixed seed, so the check is deterministic) and the clamping.
func TestDraw(t *testing.T) {
	const n = 200_000
	tests := []struct {
		spec     string
		duration bool
		hi       float64
		wantMean float64
		wantMin  float64 // every draw is at least this
	}{
		// fixed: always the value.
		{"fixed(4096)", false, churnMaxBurst, 4096, 4096},
		// uniform: mean of the ends.
		{"uniform(1s, 3s)", true, float64(time.Hour), float64(2 * time.Second), float64(time.Second)},
		// exponential: the mean is the argument.
		{"exponential(2048)", false, churnMaxBurst, 2048, 0},
		// lognormal(median, sigma): mean median·exp(sigma²/2).
		{"lognormal(1s, 0.5)", true, float64(time.Hour), float64(time.Second) * math.Exp(0.125), 0},
		// pareto(min, alpha): mean min·alpha/(alpha-1), never below min.
		{"pareto(100ms, 3)", true, float64(time.Hour), float64(150 * time.Millisecond), float64(100 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			b := scenarios.Bounds["churn.send"]
			if tt.duration {
				b = scenarios.Bounds["churn.lifetime"]
			}
			d, err := scenarios.ParseDist(tt.spec, tt.duration, b)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			var sum float64
			for range n {
				x := draw(d, r, tt.hi)
				if x < tt.wantMin || x > tt.hi {
					t.Fatalf("draw = %v, want within [%v, %v]", x, tt.wantMin, tt.hi)
				}
				sum += x
			}
			if got := sum / n; math.Abs(got-tt.wantMean) > 0.02*tt.wantMean {
				t.Errorf("mean of %d draws = %.4g, want %.4g ±2%%", n, got, tt.wantMean)
			}
		})
	}
	// A heavy tail is clamped to the field's bound.
	d := scenarios.Dist{Name: scenarios.DistPareto, A: 1000, B: 0.1}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		if x := draw(d, r, 5000); x > 5000 {
			t.Fatalf("draw = %v, want clamped to 5000", x)
		}
	}
}

// TestChurnPeer checks the built-in churn-peer: one port on consecutive
// loopback addresses, each answering a burst with the reply length asked,
// and refusing an oversized header.
func TestChurnPeer(t *testing.T) {
	needLoopback8(t)
	tgt, err := StartTargetWith(scenarios.TargetChurnPeer, "127.42.9.1:0", TargetOptions{Peers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	addrs := tgt.Addrs()
	if got, want := len(addrs), 3; got != want {
		t.Fatalf("listening on %d addresses, want %d", got, want)
	}
	port := addrs[0].(*net.TCPAddr).Port
	for i, a := range addrs {
		ta := a.(*net.TCPAddr)
		if got, want := ta.IP.String(), net.IPv4(127, 42, 9, byte(1+i)).String(); got != want || ta.Port != port {
			t.Errorf("address %d = %s, want %s:%d", i, a, want, port)
		}
	}
	tests := []struct {
		send, reply uint32
	}{
		{0, 0},         // an empty burst still gets its (empty) answer
		{10, 100000},   // small request, large reply
		{70000, 1},     // payload larger than one write buffer
		{4096, 65536},  // typical
		{1 << 20, 123}, // a MiB up
	}
	for i, tt := range tests {
		c, err := net.Dial("tcp", addrs[i%len(addrs)].String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		for range 2 { // two bursts on one connection
			var hdr [churnHeaderLen]byte
			putChurnHeader(hdr[:], tt.send, tt.reply)
			if _, err := c.Write(append(hdr[:], make([]byte, tt.send)...)); err != nil {
				t.Fatal(err)
			}
			n, err := io.CopyN(io.Discard, c, int64(tt.reply))
			if err != nil || n != int64(tt.reply) {
				t.Fatalf("send %d reply %d: read %d, %v", tt.send, tt.reply, n, err)
			}
		}
		_ = c.Close()
	}
	// An oversized burst ends the connection.
	c, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var hdr [churnHeaderLen]byte
	binary.BigEndian.PutUint32(hdr[4:], churnMaxBurst+1)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(hdr[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after an oversized header: %v, want EOF", err)
	}
	waitFor(t, func() bool { _, errs := tgt.Stats(); return len(errs) == 1 })
	if _, errs := tgt.Stats(); len(errs) != 1 || errs[0].Class != errclass.ClassOther {
		t.Errorf("target errors = %+v, want one of class other", errs)
	}
}

// needLoopback8 skips tests that use loopback addresses besides 127.0.0.1:
// Linux routes all of 127.0.0.0/8 to lo, other systems configure one.
func needLoopback8(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("uses addresses of 127.0.0.0/8 besides 127.0.0.1, all loopback on Linux only")
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runShipped runs a file of scenarios.d with two samples a second and
// returns its summary and timeline samples.
func runShipped(t *testing.T, file string, edit func(*scenarios.Scenario)) (*schema.Summary, []schema.Sample) {
	t.Helper()
	sc, err := scenarios.LoadFile("../scenarios.d/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(sc)
		if err := scenarios.Validate(sc); err != nil {
			t.Fatal(err)
		}
	}
	return runSampled(t, sc)
}

// runSampled runs sc with two samples a second and returns its samples.
func runSampled(t *testing.T, sc *scenarios.Scenario) (*schema.Summary, []schema.Sample) {
	t.Helper()
	var tl bytes.Buffer
	sum, err := Run(context.Background(), sc, Options{Timeline: &tl, SampleEvery: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var samples []schema.Sample
	sc2 := bufio.NewScanner(&tl)
	for sc2.Scan() {
		var s schema.Sample
		if err := json.Unmarshal(sc2.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Type == "sample" {
			samples = append(samples, s)
		}
	}
	return sum, samples
}

// TestP2PChurnSteady runs scenarios.d/p2p-churn.yaml: at a sustainable
// rate the open-connection count settles where Little's law puts it
// (arrival rate × mean lifetime), nothing is dropped and nothing fails.
func TestP2PChurnSteady(t *testing.T) {
	needLoopback8(t)
	if testing.Short() {
		t.Skip("runs a 6 s scenario")
	}
	sum, samples := runShipped(t, "p2p-churn.yaml", nil)
	if sum.Status != schema.StatusPassed || sum.TimeToFailure != nil {
		t.Fatalf("status %s, time to failure %+v, errors %+v; want passed with none", sum.Status, sum.TimeToFailure, sum.Errors)
	}
	// 1000 workers for ~100 open connections: an arrival is dropped only
	// when no idle worker is parked on the dispatch channel at that instant,
	// which a loaded machine (2 shared cores, -race) may rarely produce.
	if sum.Ops.Failed != 0 || sum.Ops.Dropped > sum.Ops.Issued/100 {
		t.Errorf("dropped %d of %d, failed %d; want none failed and under 1%% dropped at a sustainable rate", sum.Ops.Dropped, sum.Ops.Issued, sum.Ops.Failed)
	}
	c := sum.Churn
	if c == nil || c.SteadyOpen == nil {
		t.Fatalf("churn report %+v, want one with steady_open", c)
	}
	// Little's law with the measured arrival rate and drawn lifetimes.
	want := c.ConnectsPerSec * c.MeanLifetimeSec
	if g := c.SteadyOpen; g.Mean < 0.6*want || g.Mean > 1.4*want || g.Min < int64(0.3*want) {
		t.Errorf("steady open = %+v, want mean within 40%% of %.1f (rate %.1f/s × lifetime %.3fs), min above 30%%", g, want, c.ConnectsPerSec, c.MeanLifetimeSec)
	}
	if got, want := c.Peers, 32; got != want {
		t.Errorf("peers = %d, want %d", got, want)
	}
	// Equal, but for a dial whose handshake completed as the run stopped:
	// Go's dialer then returns the cancellation and closes the socket, so
	// the target may count up to one more accept per worker.
	if got, want := sum.Target.Accepted, c.Connects; got < want || got > want+uint64(sum.Scenario.Load.Workers) {
		t.Errorf("target accepted %d, client connected %d; want equal, or a few more accepts cut short at the stop", got, want)
	}
	// About one connection in five ends with RST (drawn per connection).
	if got := float64(c.ClosedRST) / float64(c.Connects); got < 0.1 || got > 0.3 {
		t.Errorf("RST share = %.2f (%d of %d), want about 0.2", got, c.ClosedRST, c.Connects)
	}
	if got, want := c.ClosedFIN+c.ClosedRST, c.Connects; got != want {
		t.Errorf("closed %d, connected %d; want every connection closed", got, want)
	}
	if sum.BytesOut == 0 || sum.BytesIn <= sum.BytesOut || c.Bursts < c.Connects {
		t.Errorf("bytes out %d, in %d, bursts %d for %d connects; want replies (mean 8192) larger than sends (2048) and a burst per connection", sum.BytesOut, sum.BytesIn, c.Bursts, c.Connects)
	}
	if sum.Socket.EffectiveSndBuf == 0 || sum.Socket.EffectiveRcvBuf == 0 {
		t.Errorf("effective buffers %d/%d, want read back from a connection", sum.Socket.EffectiveSndBuf, sum.Socket.EffectiveRcvBuf)
	}
	var connects float64
	for _, s := range samples {
		n, ok := s.Extra["connects"].(float64)
		if !ok {
			t.Fatalf("sample %d has no extra.connects: %+v", s.Seq, s.Extra)
		}
		connects += n
	}
	if uint64(connects) != c.Connects {
		t.Errorf("timeline connects sum to %v, summary says %d", connects, c.Connects)
	}
}

// TestP2PChurnFDLimit runs scenarios.d/p2p-churn-fd-limit.yaml: the same
// load under a 64-descriptor limit fails with EMFILE when a socket is made.
func TestP2PChurnFDLimit(t *testing.T) {
	needLoopback8(t)
	sum, _ := runShipped(t, "p2p-churn-fd-limit.yaml", nil)
	f := sum.TimeToFailure
	if f == nil {
		t.Fatalf("no failure; errors %+v", sum.Errors)
	}
	if f.Class != errclass.ClassEMFILE || f.Phase != errclass.PhaseSocket {
		t.Errorf("failure %s/%s, want socket/emfile", f.Phase, f.Class)
	}
	if sum.Status != schema.StatusPassed || sum.StopReason != schema.StopFailure {
		t.Errorf("status %s stopped by %s, want passed stopped by failure", sum.Status, sum.StopReason)
	}
	// It failed past a real population: more than a handful connected.
	if c := sum.Churn; c == nil || c.Connects < 10 {
		t.Errorf("churn report %+v, want at least 10 connects before EMFILE", c)
	}
}
