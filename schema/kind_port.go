package schema

// PortReport is what the port-exhaustion kind adds to the summary.
type PortReport struct {
	// Method is the method used after auto was resolved.
	Method    string `json:"method"`
	Low       int    `json:"low,omitempty"`
	High      int    `json:"high,omitempty"`
	RangeSize int    `json:"range_size,omitempty"`
	// ConnectsBeforeFailure counts successful connects before the first
	// failure (nil when there was none).
	ConnectsBeforeFailure *uint64 `json:"connects_before_failure"`
	// Recovered: with after_failure, when a connect first succeeded again
	// after the failure (seconds since start).
	RecoveredAtSec *float64 `json:"recovered_at_sec,omitempty"`
	// BusySkipped counts binds that found a port busy and moved on to the
	// next one (method bind only).
	BusySkipped uint64 `json:"busy_skipped,omitempty"`
}
