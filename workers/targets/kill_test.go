package targets

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/scenarios"
)

// TestTargetKillResets: Kill resets open connections, as a killed process's.
func TestTargetKillResets(t *testing.T) {
	tgt, err := Start(scenarios.TargetSink, "127.0.0.1:0", scenarios.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", tgt.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testkit.WaitFor(t, func() bool { return tgt.Info().Active > 0 })
	tgt.Kill()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after Kill: %v, want ECONNRESET", err)
	}
	if _, err := net.Dial("tcp", tgt.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Kill: %v, want ECONNREFUSED", err)
	}
}
