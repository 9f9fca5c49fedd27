// Package testrun runs scenarios through the engine for tests of several
// packages. Nothing outside tests imports it.
package testrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"
)

// Result is a run made by Run: its summary and its timeline, decoded.
type Result struct {
	Sum     *schema.Summary
	Samples []schema.Sample
	// Lines holds every timeline line as a generic map.
	Lines []map[string]any
	// Raw is the timeline as written.
	Raw []byte
}

// Run runs sc with the engine's tables (opts may leave them nil), and
// checks that the run left no descriptor open.
func Run(t testing.TB, ctx context.Context, sc *scenarios.Scenario, opts workers.Options) Result {
	t.Helper()
	if opts.Kinds == nil {
		opts.Kinds = kinds.Table
	}
	if opts.Targets == nil {
		opts.Targets = targets.Table
	}
	before := testkit.FDCount()
	var buf Buffer
	opts.Timeline = &buf
	sum, err := workers.Run(ctx, sc, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The run closes its own sockets before returning; a test's own
	// listener closes its side when it reads EOF, so poll briefly.
	after := testkit.FDCount()
	for deadline := time.Now().Add(2 * time.Second); after != before && time.Now().Before(deadline); after = testkit.FDCount() {
		time.Sleep(5 * time.Millisecond)
	}
	if after != before {
		t.Errorf("open descriptors: %d before the run, %d after", before, after)
	}
	r := Result{Sum: sum, Raw: buf.Bytes()}
	sc2 := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc2.Buffer(nil, 4<<20)
	for sc2.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc2.Bytes(), &m); err != nil {
			t.Fatalf("timeline line %q: %v", sc2.Text(), err)
		}
		r.Lines = append(r.Lines, m)
		if m["type"] == "sample" {
			var s schema.Sample
			if err := json.Unmarshal(sc2.Bytes(), &s); err != nil {
				t.Fatalf("timeline sample %q: %v", sc2.Text(), err)
			}
			r.Samples = append(r.Samples, s)
		}
	}
	return r
}

// Buffer is a bytes.Buffer safe for concurrent use: a timeline writer.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Bytes returns a copy of what was written.
func (s *Buffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
