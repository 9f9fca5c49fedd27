package schema

// UDPReport is what the udp-push kind adds to the summary.
type UDPReport struct {
	// Size is the datagram payload in bytes.
	Size int `json:"size"`
	// RecvErr says whether IP_RECVERR was on, read back from the first
	// socket.
	RecvErr bool `json:"recverr"`
	// Sent counts datagrams the kernel accepted; ENOBUFS the sends that
	// failed with it.
	Sent    uint64 `json:"sent"`
	ENOBUFS uint64 `json:"enobufs"`
}
