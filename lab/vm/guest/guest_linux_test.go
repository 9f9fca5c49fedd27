package guest

import (
	"errors"
	"os"
	"testing"
)

// TestRefusesOnHost: run anywhere but as PID 1, nothing is mounted,
// configured or powered off.
func TestRefusesOnHost(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("running as PID 1")
	}
	if _, err := Start(Options{}); !errors.Is(err, ErrNotInit) {
		t.Errorf("Start = %v, want ErrNotInit", err)
	}
	if err := PowerOff(); !errors.Is(err, ErrNotInit) {
		t.Errorf("PowerOff = %v, want ErrNotInit", err)
	}
}
