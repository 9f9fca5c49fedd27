package schema

// Sections is the table of per-kind sections of a summary: one field per
// kind, each set only in a run of that kind and written inline in
// summary.json under its own key. A new kind adds its section type in a
// file of its own (kind_<name>.go) and one line here.
type Sections struct {
	PortExhaustion *PortReport     `json:"port_exhaustion,omitempty"`
	Churn          *ChurnReport    `json:"churn,omitempty"`
	HalfOpen       *HalfOpenReport `json:"half_open,omitempty"`
	DeadPeer       *DeadPeerReport `json:"dead_peer,omitempty"`
	UDPPush        *UDPReport      `json:"udp_push,omitempty"`
}
