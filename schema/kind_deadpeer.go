package schema

// DeadPeerReport is what the dead-peer kind adds to the summary.
type DeadPeerReport struct {
	// Diagnostics says whether per-socket queues could be read (Linux).
	Diagnostics bool `json:"diagnostics"`
	// Connections counts the connections opened.
	Connections uint64 `json:"connections"`
	// BlockedWrites counts writes that hit socket.io_timeout.
	BlockedWrites uint64 `json:"blocked_writes"`
	// PeakQueuedTotal is the most bytes seen queued in all send queues
	// together at one measurement, and when.
	PeakQueuedTotal int64   `json:"peak_queued_total"`
	PeakQueuedAtSec float64 `json:"peak_queued_at_sec"`
	// MeanQueuedTotal is the mean of the total over all Measurements (one
	// per timeline sample, one per reaper pass, one at the end).
	MeanQueuedTotal int64  `json:"mean_queued_total"`
	Measurements    uint64 `json:"measurements"`
	// Top lists the sockets that held the most queued bytes at their
	// peak: the answer to "which socket is tying up the buffers".
	Top []SocketStat `json:"top"`
	// Reaper is set when the reaper was on.
	Reaper *ReaperReport `json:"reaper,omitempty"`
}

// SocketStat is one socket of the dead-peer kind at the moment it held
// the most queued bytes.
type SocketStat struct {
	Local  string `json:"local"`
	Remote string `json:"remote"`
	Worker int    `json:"worker"`
	// Queued is SIOCOUTQ at the peak: bytes in the send queue.
	Queued int64 `json:"queued"`
	// Unacked is tcpi_unacked (segments), NotSent tcpi_notsent_bytes,
	// SndWnd tcpi_snd_wnd, State the TCP state — all at the peak.
	Unacked uint32 `json:"unacked"`
	NotSent uint32 `json:"notsent"`
	SndWnd  uint32 `json:"snd_wnd"`
	State   string `json:"state"`
	// Written counts the bytes the kernel accepted from the writer.
	Written     uint64  `json:"written"`
	OpenedAtSec float64 `json:"opened_at_sec"`
	PeakAtSec   float64 `json:"peak_at_sec"`
	// End is open, error or reaped; EndedAtSec is when (not for open).
	End        string  `json:"end"`
	EndedAtSec float64 `json:"ended_at_sec,omitempty"`
}

// ReaperReport is what the reaper did.
type ReaperReport struct {
	MaxQueued  int64  `json:"max_queued"`
	Reaped     uint64 `json:"reaped"`
	FreedBytes int64  `json:"freed_bytes"`
	// Reaps lists each reap (the first 1000).
	Reaps []Reap `json:"reaps"`
}

// Reap is one socket closed by the reaper.
type Reap struct {
	AtSec  float64 `json:"at_sec"`
	Local  string  `json:"local"`
	Remote string  `json:"remote"`
	Worker int     `json:"worker"`
	// Freed is the socket's queued bytes when it was closed; TotalAfter
	// the total queued bytes left.
	Freed      int64 `json:"freed"`
	TotalAfter int64 `json:"total_after"`
}
