package record

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nobufs/nobufs/internal/regular"
	"github.com/nobufs/nobufs/schema"
)

// ErrNotRun is returned for a directory that holds no nobufs run.
var ErrNotRun = errors.New("not a nobufs run directory")

// Rebuild makes a summary from a run directory's timeline, for a run that
// died before writing summary.json (SIGKILL, crash, power loss). Counts
// are exact up to the last complete sample; first occurrences and the
// time-to-failure are known to the sample interval (the end of the sample
// that first shows them) and carry no operation index, unless the
// timeline's end line was written.
func Rebuild(dir string) (*schema.Summary, error) {
	path := filepath.Join(dir, TimelineFile)
	f, err := regular.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: no %s", dir, ErrNotRun, TimelineFile)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tl, err := schema.ReadTimeline(path, f)
	if err != nil {
		return nil, err
	}
	if tl.Start == nil {
		return nil, fmt.Errorf("%s: empty timeline: the run died before it started", path)
	}
	return schema.Rebuild(tl), nil
}
