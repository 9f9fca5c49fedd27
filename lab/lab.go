// Package lab builds lab cells — a client network namespace and a target
// network namespace joined by a veth pair, with their own sysctls, shaping
// and faults — and runs scenarios inside them. A cell is made for one run
// and removed after it, also on error, cancellation and panic; everything
// it creates carries a run-unique name prefix (nb-<token>-<n>) so that
// Cleanup can remove what a crashed run left, and nothing else.
//
// Only Linux has cells; elsewhere New returns ErrUnsupported. Cells need
// root (CAP_SYS_ADMIN and CAP_NET_ADMIN): without it New returns
// ErrNeedRoot. docs/lab.md describes cells, their safety rules and sweeps.
package lab

import (
	"context"
	"errors"
	"fmt"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// ErrNeedRoot is returned when cells cannot be made for want of privilege.
var ErrNeedRoot = errors.New("lab cells need root (they create network namespaces and a veth pair); run as root, or remove the scenario's cell section to run on loopback")

// ErrUnsupported is returned on systems without network namespaces.
var ErrUnsupported = errors.New("lab cells need Linux network namespaces")

// Prefix starts the name of everything a cell creates (see owner.go for
// the whole form).
const Prefix = "nb-"

// Placement is the placement of a run in a fresh lab cell: Run builds
// the cell from the scenario's cell section, runs the scenario with the
// target and the load inside it (workers.Namespaces), injects the faults,
// and removes the cell before returning — also when the run fails, ctx is
// cancelled or something panics. The summary's Cell field describes the
// cell. The host state, when asked for, is sampled in the cell's client
// namespace.
type Placement struct{}

var _ workers.Placement = Placement{}

// Run runs sc, which must have a cell section, in a fresh cell.
func (Placement) Run(ctx context.Context, sc *scenarios.Scenario, opts workers.Options) (sum *schema.Summary, err error) {
	if sc.Cell == nil {
		return nil, fmt.Errorf("scenario %s has no cell section", sc.Name)
	}
	if err := checkThreads(sc.Load.Workers); err != nil {
		return nil, err
	}
	c, err := New(sc.Cell)
	if err != nil {
		return nil, err
	}
	defer func() {
		cerr := c.Close()
		if sum != nil && sum.Cell != nil {
			sum.Cell.TeardownMs = c.teardown.Seconds() * 1000
		}
		if cerr != nil && err == nil {
			err = fmt.Errorf("remove cell %s: %w", c.Name, cerr)
		}
	}()
	if wantsSynDrop(sc) {
		if err := c.dropSynAcks(); err != nil {
			return nil, err
		}
	}
	fs := c.newFaults(sc)
	defer fs.stop() // before Close (defers run last-in first-out), also on panic
	opts.Namespaces = c.namespaces()
	opts.Started = fs.started
	sum, err = workers.Run(ctx, sc, opts)
	fs.stop()
	if sum != nil {
		sum.Cell = c.report(fs.report())
	}
	return sum, err
}

// Run runs sc in a fresh cell (see Placement).
func Run(ctx context.Context, sc *scenarios.Scenario, opts workers.Options) (*schema.Summary, error) {
	return Placement{}.Run(ctx, sc, opts)
}

// Check says whether cells can be made here: nil, ErrNeedRoot or
// ErrUnsupported (wrapped with the reason).
func Check() error { return checkCapable() }
