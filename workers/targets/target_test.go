package targets

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// TestTargetModes checks what each built-in mode does to a client.
func TestTargetModes(t *testing.T) {
	for _, mode := range []string{scenarios.TargetAcceptClose, scenarios.TargetSink, scenarios.TargetEcho} {
		t.Run(mode, func(t *testing.T) {
			tg, err := Start(mode, "127.0.0.1:0", scenarios.TargetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			c, err := net.Dial("tcp", tg.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			switch mode {
			case scenarios.TargetAcceptClose:
				// The server closes first: the client reads EOF.
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("read = %v, want EOF", err)
				}
			case scenarios.TargetSink:
				if _, err := c.Write([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				// Nothing comes back; the sink only closes after we do.
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("read = %v, want our deadline", err)
				}
			case scenarios.TargetEcho:
				if _, err := c.Write([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 5)
				if _, err := io.ReadFull(c, b); err != nil || string(b) != "hello" {
					t.Errorf("echo = %q, %v; want hello", b, err)
				}
			}
			c.Close()
			// Close waits for every connection goroutine (goleak checks).
			tg.Close()
			if acc := tg.Info().Accepted; acc != 1 {
				t.Errorf("accepted = %d, want 1", acc)
			}
		})
	}
	if _, err := Start(scenarios.TargetSink, "0.0.0.0:0", scenarios.TargetOptions{}); !errors.Is(err, workers.ErrTargetRefused) {
		t.Errorf("StartTarget on 0.0.0.0: err = %v, want ErrTargetRefused", err)
	}
}
