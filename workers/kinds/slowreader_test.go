package kinds_test

import (
	"context"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// TestSlowReaderShipped runs scenarios.d/slow-reader.yaml: slow clients
// fill the server's send queues until it gives up on them (RST), which the
// clients see at once as recv/econnreset — the time-to-failure — although
// unread data still waits in their receive queues.
func TestSlowReaderShipped(t *testing.T) {
	sc := testkit.Shipped(t, "slow-reader.yaml")
	sc.Stop.Duration = scenarios.Duration(4 * time.Second)
	r := testrun.Run(t, context.Background(), sc, workers.Options{SampleEvery: 250 * time.Millisecond})
	sum := r.Sum
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassECONNRESET || f.Phase != errclass.PhaseRecv {
		t.Fatalf("time to failure = %+v, want recv/econnreset (errors %+v)", f, sum.Errors)
	}
	// The streamer gives up after a write blocked for 2 s: not before.
	if f.AtSec < 2 {
		t.Errorf("the server gave up at %.3fs, before its 2 s send timeout could pass", f.AtSec)
	}
	sr := sum.SlowReader
	if sr == nil || sr.ServerClosed == 0 || sr.FirstServerCloseAtSec == nil || sr.Connections <= 8 {
		t.Fatalf("slow_reader = %+v, want server closes and redials", sr)
	}
	if got := sum.Target.Vanished; got < sr.ServerClosed {
		t.Errorf("the target reset %d clients, the clients saw %d closes", got, sr.ServerClosed)
	}
	if workers.SockInfoSupported {
		// Eight send queues filled by a server that writes as fast as
		// the window lets it: megabytes, against the few bytes read.
		if q := sr.ServerQueued; q == nil || q.Peak < 8*256<<10 || q.Sockets == 0 {
			t.Errorf("server queued = %+v, want at least 2 MiB over the sockets", sr.ServerQueued)
		}
		if sr.ClientUnread == 0 {
			t.Error("no unread bytes seen in the clients' receive queues")
		}
		var seen bool
		for _, s := range r.Samples {
			if q, ok := s.Extra["server_queued"].(float64); ok && q > 0 {
				seen = true
			}
		}
		if !seen {
			t.Error("no sample shows the server's queued bytes")
		}
	}
}

// TestSlowReaderControl: clients that read fast leave the server nothing
// to hold and nothing to give up on; clients that never read are given up
// on as well.
func TestSlowReaderControl(t *testing.T) {
	for _, tt := range []struct {
		name       string
		readBytes  int
		readEvery  time.Duration
		wantCloses bool
	}{
		{"fast", 1 << 20, time.Millisecond, false},
		{"never", 0, 100 * time.Millisecond, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := testkit.Shipped(t, "slow-reader.yaml")
			sc.Stop.Duration = scenarios.Duration(3500 * time.Millisecond)
			sc.Load.Workers = 2
			sc.Socket.RcvBuf = 0
			sc.SlowReader.ReadBytes, sc.SlowReader.ReadEvery = tt.readBytes, scenarios.Duration(tt.readEvery)
			sc.Expect.Failure = scenarios.ExpectAny
			if err := scenarios.Validate(sc); err != nil {
				t.Fatal(err)
			}
			sum := testrun.Run(t, context.Background(), sc, workers.Options{}).Sum
			sr := sum.SlowReader
			if got := sr.ServerClosed > 0; got != tt.wantCloses {
				t.Errorf("server closed %d connections; want closes: %v (errors %+v)", sr.ServerClosed, tt.wantCloses, sum.Errors)
			}
			if tt.readBytes > 0 && sr.BytesRead < 1<<20 {
				t.Errorf("fast readers read %d bytes, want megabytes", sr.BytesRead)
			}
		})
	}
}
