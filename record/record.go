// Package record is the results layout on disk: one directory per run,
// results/<scenario>/<UTC timestamp>/, holding the resolved scenario, the
// streamed timeline and the summary. docs/results.md describes the files.
//
// Every file a run needs is opened before the load starts, so a harness that
// exhausts its own descriptors can still write its summary.
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nobufs/nobufs/internal/regular"
	"github.com/nobufs/nobufs/schema"

	"go.yaml.in/yaml/v4"

	"github.com/nobufs/nobufs/scenarios"
)

// File names inside a run directory.
const (
	ScenarioFile = "scenario.yaml"
	SummaryFile  = "summary.json"
	TimelineFile = "timeline.ndjson"
)

// TimestampLayout names run directories: UTC, sortable, no colons.
const TimestampLayout = "20060102T150405Z"

// Run is an open run directory.
type Run struct {
	Dir      string
	Timeline *os.File
	// summary is opened at creation and written at the end: writing the
	// summary needs no new descriptor.
	summary *os.File
}

// Create makes a fresh run directory under root for scenario name, named by
// the UTC time now (with a -2, -3… suffix if that exists), writes the
// resolved scenario and opens the timeline and summary files.
func Create(root, name string, sc *scenarios.Scenario, now time.Time) (*Run, error) {
	base := filepath.Join(root, name, now.UTC().Format(TimestampLayout))
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 1000 {
			return nil, fmt.Errorf("results directory: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
	return open(dir, sc)
}

// CreateDir makes the run directory dir itself (its parent must exist; dir
// must not), writes the resolved scenario and opens the timeline and
// summary files. Sweeps use it to place each run inside the sweep's
// directory.
func CreateDir(dir string, sc *scenarios.Scenario) (*Run, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	return open(dir, sc)
}

func open(dir string, sc *scenarios.Scenario) (*Run, error) {
	b, err := yaml.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode scenario: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ScenarioFile), b, 0o644); err != nil {
		return nil, fmt.Errorf("write scenario: %w", err)
	}
	r := &Run{Dir: dir}
	if r.Timeline, err = os.OpenFile(filepath.Join(dir, TimelineFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644); err != nil {
		return nil, fmt.Errorf("open timeline: %w", err)
	}
	if r.summary, err = os.OpenFile(filepath.Join(dir, SummaryFile+".tmp"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
		r.Timeline.Close()
		return nil, fmt.Errorf("open summary: %w", err)
	}
	return r, nil
}

// WriteSummary writes summary.json: into the file opened at creation, then
// renamed into place, so a reader never sees half a summary.
func (r *Run) WriteSummary(s *schema.Summary) error {
	if r.summary == nil {
		return errors.New("summary already written")
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	b = append(b, '\n')
	f := r.summary
	r.summary = nil
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(r.Dir, SummaryFile))
	}
	if err != nil {
		// What was written stays, named: a full disk leaves a partial
		// file the user may want (the whole summary is printed anyway).
		return &SummaryError{Partial: tmp, Err: err}
	}
	return nil
}

// SummaryError is a summary.json that could not be written: Partial is
// the file left with what was written before the error.
type SummaryError struct {
	Partial string
	Err     error
}

func (e *SummaryError) Error() string {
	return fmt.Sprintf("write summary: %v (what was written is in %s)", e.Err, e.Partial)
}

func (e *SummaryError) Unwrap() error { return e.Err }

// Close closes the run's files. A summary never written leaves no
// summary.json (the timeline is what remains; see Rebuild).
func (r *Run) Close() error {
	var errs []error
	if r.summary != nil {
		errs = append(errs, r.summary.Close())
		r.summary = nil
		_ = os.Remove(filepath.Join(r.Dir, SummaryFile+".tmp"))
	}
	if r.Timeline != nil {
		errs = append(errs, r.Timeline.Close())
		r.Timeline = nil
	}
	return errors.Join(errs...)
}

// WriteSummaryFile writes a summary (such as a rebuilt one) into dir,
// atomically.
func WriteSummaryFile(dir string, s *schema.Summary) error {
	f, err := os.OpenFile(filepath.Join(dir, SummaryFile+".tmp"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	r := &Run{Dir: dir, summary: f}
	defer r.Close() // after a failed encode: closes f and removes the temporary file
	return r.WriteSummary(s)
}

// maxSummary bounds a summary.json read (a summary is tens of kilobytes).
const maxSummary = 64 << 20

// ReadSummary reads the summary.json of a run directory.
func ReadSummary(dir string) (*schema.Summary, error) {
	b, err := regular.ReadFile(filepath.Join(dir, SummaryFile), maxSummary)
	if errors.Is(err, os.ErrNotExist) {
		if _, terr := os.Stat(filepath.Join(dir, TimelineFile)); terr == nil {
			return nil, fmt.Errorf("%s: no %s (the run did not finish?): rebuild it with nobufs report --rebuild %s: %w", dir, SummaryFile, dir, err)
		}
		return nil, fmt.Errorf("%s: %w: no %s or %s", dir, ErrNotRun, SummaryFile, TimelineFile)
	}
	if err != nil {
		return nil, err
	}
	return schema.DecodeSummary(filepath.Join(dir, SummaryFile), b)
}

// WriteFileAtomic writes data to path so that a reader sees the old file
// or the new one, never half of one: into a temporary file beside it,
// synced, then renamed over it. On error the temporary file is removed.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
