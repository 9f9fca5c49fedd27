//go:build unix

package wire

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestPayloadFileRefusesSpecialFiles: a FIFO (which would block an open
// for reading) and a device are refused at once with ErrNotRegular.
func TestPayloadFileRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null", "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, err := ReadPayloadFile(path, MaxPayloadBytes); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("ReadPayloadFile(%s) error = %v, want ErrNotRegular", path, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadPayloadFile(%s) blocked", path)
		}
	}
}
