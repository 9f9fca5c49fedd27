package schema

// SlowReaderReport is what the slow-reader kind adds to the summary.
type SlowReaderReport struct {
	// Connections counts the connections opened; Reads the slow reads
	// made (or looks, with read_bytes 0); BytesRead what they took.
	Connections uint64 `json:"connections"`
	Reads       uint64 `json:"reads"`
	BytesRead   uint64 `json:"bytes_read"`
	// ServerClosed counts the connections the server ended (EOF or RST
	// seen by a read): it gave up on a slow client. FirstServerCloseAtSec
	// is when it first did; MeanLifeSec how long such a connection had
	// lived, on average.
	ServerClosed          uint64   `json:"server_closed"`
	FirstServerCloseAtSec *float64 `json:"first_server_close_at_sec,omitempty"`
	MeanLifeSec           float64  `json:"mean_life_sec,omitempty"`
	// ServerQueued is what the built-in target held in its sockets' send
	// queues (SIOCOUTQ, Linux; nil when it could not be read, as for an
	// external target): the peak total and when, the mean over the
	// samples, and the sockets at the peak.
	ServerQueued *QueueStats `json:"server_queued,omitempty"`
	// ClientUnread is the most bytes seen waiting unread in the clients'
	// receive queues at once (SIOCINQ, Linux).
	ClientUnread int64 `json:"client_unread_peak"`
}

// QueueStats summarises a queue measured each sample.
type QueueStats struct {
	Peak      int64   `json:"peak"`
	PeakAtSec float64 `json:"peak_at_sec"`
	Mean      int64   `json:"mean"`
	Sockets   int     `json:"sockets_at_peak"`
	Samples   int     `json:"samples"`
}
