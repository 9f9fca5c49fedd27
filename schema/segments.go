package schema

import "github.com/nobufs/nobufs/scenarios"

// SegmentInfo is set in a segment's own summary: which part of a run it
// is (package segment) and the scenario of the whole run (Scenario is
// this segment's share of it).
type SegmentInfo struct {
	// Index is the segment's number, 0-based; Count how many the run has.
	Index int `json:"index"`
	Count int `json:"count"`
	// Whole is the scenario of the whole run.
	Whole *scenarios.Scenario `json:"whole"`
}

// SegmentRef is one segment of a merged run, as the merge found it.
type SegmentRef struct {
	Index int `json:"index"`
	// Dir is the segment's results directory, relative to the merged run's.
	Dir string `json:"dir"`
	// Status is the segment's own status, "missing" when it left no
	// results, or "partial" when its summary was rebuilt from its timeline.
	Status     string   `json:"status"`
	Ops        OpCounts `json:"ops"`
	PeakOpen   int64    `json:"peak_open"`
	ElapsedSec float64  `json:"elapsed_sec"`
	// StartOffsetSec is when the segment started after the earliest one.
	StartOffsetSec float64 `json:"start_offset_sec"`
}

// StatusMissing marks a segment that left no results.
const StatusMissing = "missing"
