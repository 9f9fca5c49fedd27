package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nobufs/nobufs/workers"
)

// progressLine redraws one status line on a terminal; it does nothing when
// stdout is not a terminal or --quiet is given.
type progressLine struct {
	st    *state
	on    bool
	name  string
	drawn bool
}

func newProgressLine(st *state, quiet bool, name string) *progressLine {
	return &progressLine{st: st, on: st.tty && !quiet, name: name}
}

func (p *progressLine) update(pr workers.Progress) {
	if !p.on {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %6.1fs  %8.0f ok/s  open %d  ok %d  failed %d", p.name, pr.Elapsed.Seconds(), pr.OKPerSec, pr.Open, pr.OK, pr.Failed)
	if pr.Dropped > 0 {
		fmt.Fprintf(&b, "  dropped %d", pr.Dropped)
	}
	for _, c := range slices.Sorted(maps.Keys(pr.Classes)) {
		fmt.Fprintf(&b, "  %s %d", c, pr.Classes[c])
	}
	if pr.TimeToFailure != nil {
		fmt.Fprintf(&b, "  FAILED at %.3fs", pr.TimeToFailure.AtSec)
	}
	line := b.String()
	// A line wider than the terminal wraps, and \r then redraws only its
	// last row: every update would leave a row behind.
	if w := p.st.width; w > 1 && len(line) >= w {
		line = line[:w-1]
	}
	fmt.Fprintf(p.st.stdout, "\r\033[K%s", line)
	p.drawn = true
}

func (p *progressLine) clear() {
	if p.drawn {
		fmt.Fprint(p.st.stdout, "\r\033[K")
	}
}
