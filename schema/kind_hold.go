package schema

// HoldReport is what the hold kind adds to the summary.
type HoldReport struct {
	// Peers is how many destination addresses were used, FirstPeer and
	// LastPeer the ends of their range.
	Peers     int    `json:"peers"`
	FirstPeer string `json:"first_peer"`
	LastPeer  string `json:"last_peer"`
	// Wanted is how many connections this run was to open (its segment's
	// share of hold.connections); Opened how many it opened.
	Wanted uint64 `json:"wanted"`
	Opened uint64 `json:"opened"`
	// HeldAtEnd is how many were still open when the run began to stop;
	// PeakHeld the most open at once.
	HeldAtEnd uint64 `json:"held_at_end"`
	PeakHeld  uint64 `json:"peak_held"`
	// ClosedByServer and ResetByServer count connections the server
	// ended with a FIN (EOF) or an RST while they were held.
	ClosedByServer uint64 `json:"closed_by_server"`
	ResetByServer  uint64 `json:"reset_by_server"`
	// AllOpenSec is when the last wanted connection was opened (seconds
	// since the start; 0 when not all were).
	AllOpenSec float64 `json:"all_open_sec"`
	// RSSBeforeBytes is the process's resident memory before the first
	// connect (target started), RSSAllOpenBytes once all wanted were open
	// (Linux); UserBytesPerConn their difference over the connections
	// opened: what one held connection costs in user space — both ends
	// when the built-in target runs in the process.
	RSSBeforeBytes   uint64  `json:"rss_before_bytes,omitempty"`
	RSSAllOpenBytes  uint64  `json:"rss_all_open_bytes,omitempty"`
	UserBytesPerConn float64 `json:"user_bytes_per_conn,omitempty"`
}
