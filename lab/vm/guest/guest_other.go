//go:build !linux

package guest

import (
	"fmt"
	"os"
	"time"

	"github.com/nobufs/nobufs/lab/vm"
)

// DefaultResults are the results channel devices tried on Linux.
var DefaultResults = []string{"/dev/ttyS1", "/dev/hvc0", "/dev/ttyS0"}

// Options tune Start.
type Options struct {
	Results  []string
	NoKmsg   bool
	KmsgPoll time.Duration
}

// Session is a running guest; there are none on this system.
type Session struct{}

// Start needs a Linux guest: here it returns vm.ErrUnsupported.
func Start(Options) (*Session, error) { return nil, fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// Facts is empty here.
func (s *Session) Facts() vm.Facts { return vm.Facts{} }

// Device is empty here.
func (s *Session) Device() string { return "" }

// Send returns vm.ErrUnsupported.
func (s *Session) Send(string, any) error { return fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// Line returns vm.ErrUnsupported.
func (s *Session) Line(string) error { return fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// Drain has nothing to drain here.
func (s *Session) Drain() error { return fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// Finish returns vm.ErrUnsupported.
func (s *Session) Finish(error) error { return fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// PowerOff returns vm.ErrUnsupported.
func PowerOff() error { return fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// Main prints that a guest must be Linux and exits with status 2.
func Main(Options, func(*Session) error) {
	fmt.Fprintln(os.Stderr, "nobufs guest:", vm.ErrUnsupported)
	os.Exit(2)
}
