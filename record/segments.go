package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v4"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// SegmentsDir is the directory of a split run that holds one results
// directory per segment, segments/NN/ (NN: the 0-based index, two digits
// or more).
const SegmentsDir = "segments"

// SegmentDir names segment index's results directory inside a run's.
func SegmentDir(index int) string { return filepath.Join(SegmentsDir, fmt.Sprintf("%02d", index)) }

// ReadParts reads the segments of the split run in dir: each segment's
// summary and timeline (either may be missing), the scenario of the whole
// run and how many segments it has (from the segments' own records, else
// dir's scenario.yaml).
func ReadParts(dir string) (whole *scenarios.Scenario, count int, parts []schema.Part, err error) {
	ents, err := os.ReadDir(filepath.Join(dir, SegmentsDir))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w: no %s directory", dir, ErrNotRun, SegmentsDir)
	}
	for _, e := range ents {
		idx, err := strconv.Atoi(e.Name())
		if !e.IsDir() || err != nil || idx < 0 {
			continue
		}
		rel := filepath.Join(SegmentsDir, e.Name())
		p := schema.Part{Index: idx, Dir: rel}
		sdir := filepath.Join(dir, rel)
		if b, err := os.ReadFile(filepath.Join(sdir, SummaryFile)); err == nil {
			if p.Summary, err = schema.DecodeSummary(filepath.Join(sdir, SummaryFile), b); err != nil {
				return nil, 0, nil, err
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, nil, err
		}
		if f, err := os.Open(filepath.Join(sdir, TimelineFile)); err == nil {
			p.Timeline, err = schema.ReadTimeline(filepath.Join(sdir, TimelineFile), f)
			f.Close()
			if err != nil {
				return nil, 0, nil, err
			}
		}
		info := segmentInfo(p)
		if info != nil && whole == nil {
			whole, count = info.Whole, info.Count
		}
		parts = append(parts, p)
	}
	schema.SortParts(parts)
	if whole == nil {
		b, err := os.ReadFile(filepath.Join(dir, ScenarioFile))
		if err != nil {
			return nil, 0, nil, fmt.Errorf("%s: no segment says what the whole run was, and no %s: %w", dir, ScenarioFile, err)
		}
		if whole, err = scenarios.Parse(filepath.Join(dir, ScenarioFile), b); err != nil {
			return nil, 0, nil, err
		}
		count = max(whole.Load.Segments, 1)
	}
	return whole, count, parts, nil
}

func segmentInfo(p schema.Part) *schema.SegmentInfo {
	if p.Summary != nil && p.Summary.Segment != nil {
		return p.Summary.Segment
	}
	if p.Timeline != nil && p.Timeline.Start != nil {
		return p.Timeline.Start.Segment
	}
	return nil
}

// WriteMerged writes a merged run into dir: scenario.yaml (the whole
// run's), timeline.ndjson and summary.json (atomically, last).
func WriteMerged(dir string, s *schema.Summary, tl *schema.Timeline) error {
	b, err := yaml.Marshal(s.Scenario)
	if err != nil {
		return fmt.Errorf("encode scenario: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ScenarioFile), b, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, TimelineFile))
	if err != nil {
		return err
	}
	var lines []any
	if tl.Start != nil {
		lines = append(lines, tl.Start)
	}
	for _, smp := range tl.Samples {
		lines = append(lines, smp)
	}
	if tl.End != nil {
		lines = append(lines, tl.End)
	}
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err == nil {
			_, err = f.Write(append(b, '\n'))
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("write timeline: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return WriteSummaryFile(dir, s)
}

// Merge reads the segments of the split run in dir, merges them
// (schema.Merge) and writes the merged run into dir.
func Merge(dir string) (*schema.Summary, error) {
	whole, count, parts, err := ReadParts(dir)
	if err != nil {
		return nil, err
	}
	s, tl, err := schema.Merge(whole, count, parts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := WriteMerged(dir, s, tl); err != nil {
		return s, fmt.Errorf("%s: %w", dir, err)
	}
	return s, nil
}
