package kinds_test

import (
	"context"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// TestOrphanChurnReadsEveryBurst: on a host with room, every burst the
// peers wrote and closed on is read to its end: no reset, every byte
// asked for arrives, and the timeline counts connections being read.
func TestOrphanChurnReadsEveryBurst(t *testing.T) {
	sc := testkit.Parse(t, `
name: orphans
kind: orphan-churn
load: {model: open, rate: 40, workers: 200}
orphan_churn: {peers: 4, burst: "uniform(1, 65536)", read_bytes: 16384, read_every: 20ms}
stop: {duration: 1500ms, on_failure: true}
`)
	r := testrun.Run(t, context.Background(), sc, workers.Options{SampleEvery: 250 * time.Millisecond})
	sum := r.Sum
	if sum.TimeToFailure != nil {
		t.Fatalf("time to failure %+v, want none (errors %+v)", sum.TimeToFailure, sum.Errors)
	}
	o := sum.OrphanChurn
	if o == nil || o.Peers != 4 || o.Connects < 20 {
		t.Fatalf("orphan_churn = %+v, want 4 peers and at least 20 connects", o)
	}
	if o.Completed != sum.Ops.OK || o.Completed == 0 {
		t.Errorf("completed %d, ok %d: want equal and not zero", o.Completed, sum.Ops.OK)
	}
	if o.OrphanResets != 0 {
		t.Errorf("orphan resets: got %d, want 0", o.OrphanResets)
	}
	if o.BytesRead > o.BytesAsked || o.BytesRead == 0 {
		t.Errorf("bytes read %d of %d asked", o.BytesRead, o.BytesAsked)
	}
	if sum.Target.BytesWritten < o.BytesRead {
		t.Errorf("the peers wrote %d bytes, the clients read %d", sum.Target.BytesWritten, o.BytesRead)
	}
	var reading bool
	for _, s := range r.Samples {
		if n, ok := s.Extra["reading"].(float64); ok && n > 0 {
			reading = true
		}
	}
	if !reading {
		t.Error("no sample shows a connection being read")
	}
}

// TestOrphanChurnPeerGivesUp: a peer whose write of a burst blocks past
// peer_write_timeout closes with part of it: the client reads what came
// and then the FIN, before the burst's end — class eof, not a reset.
func TestOrphanChurnPeerGivesUp(t *testing.T) {
	sc := testkit.Parse(t, `
name: orphans-short
kind: orphan-churn
load: {model: open, rate: 2, workers: 4}
socket: {rcvbuf: 262144}
orphan_churn: {peers: 1, burst: fixed(16777216), read_bytes: 1048576, read_every: 150ms, peer_write_timeout: 50ms}
stop: {duration: 20s, on_failure: true}
failure: {classes: [eof, orphan-reset]}
`)
	r := testrun.Run(t, context.Background(), sc, workers.Options{SampleEvery: 250 * time.Millisecond})
	f := r.Sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassEOF || f.Phase != errclass.PhaseRecv {
		t.Fatalf("time to failure %+v, want recv/eof (errors %+v)", f, r.Sum.Errors)
	}
	if r.Sum.Target.Vanished == 0 {
		t.Error("target.vanished: got 0, want the bursts the peer gave up on")
	}
}
