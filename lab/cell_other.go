//go:build !linux

package lab

import (
	"errors"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
)

// Cell is a lab cell; on this system none can be made.
type Cell struct {
	Name     string
	teardown time.Duration
}

// New returns ErrUnsupported: only Linux has network namespaces.
func New(*scenarios.Cell) (*Cell, error) { return nil, ErrUnsupported }

// Close does nothing.
func (c *Cell) Close() error { return nil }

func (c *Cell) namespaces() *workers.Namespaces { return nil }

func (c *Cell) report([]schema.FaultReport) *schema.CellReport { return nil }

type faults struct{}

func (c *Cell) newFaults(*scenarios.Scenario) *faults { return &faults{} }
func (*faults) started(workers.Target)                {}
func (*faults) stop()                                 {}
func (*faults) report() []schema.FaultReport          { return nil }

// Cleanup finds nothing to remove on this system.
func Cleanup(force bool) (removed, kept []string, err error) { return nil, nil, nil }

// CleanupToken finds nothing to remove on this system.
func CleanupToken(string) (removed, kept []string, err error) { return nil, nil, nil }

func checkCapable() error { return ErrUnsupported }

// ClientNSPath is empty: there are no cells here.
func (c *Cell) ClientNSPath() string { return "" }

// ErrThreads is returned (wrapped) when a cell run needs more threads than
// this process may start; cells are Linux-only.
var ErrThreads = errors.New("not enough threads for a cell run")

func checkThreads(int) error { return nil }

func wantsSynDrop(*scenarios.Scenario) bool { return false }
func (c *Cell) dropSynAcks() error          { return ErrUnsupported }
