package schema

// Sections is the table of per-kind sections of a summary: one field per
// kind, each set only in a run of that kind and written inline in
// summary.json under its own key. A new kind adds its section type in a
// file of its own (kind_<name>.go) and one field here.
type Sections struct {
	// PortExhaustion is kind port-exhaustion's section.
	PortExhaustion *PortReport `json:"port_exhaustion,omitempty"`
	// Churn is kind churn's section.
	Churn *ChurnReport `json:"churn,omitempty"`
	// HalfOpen is kind half-open's section.
	HalfOpen *HalfOpenReport `json:"half_open,omitempty"`
	// DeadPeer is kind dead-peer's section.
	DeadPeer *DeadPeerReport `json:"dead_peer,omitempty"`
	// UDPPush is kind udp-push's section.
	UDPPush *UDPReport `json:"udp_push,omitempty"`
	// SlowReader is kind slow-reader's section.
	SlowReader *SlowReaderReport `json:"slow_reader,omitempty"`
	// Hold is kind hold's section.
	Hold *HoldReport `json:"hold,omitempty"`
	// OrphanChurn is kind orphan-churn's section.
	OrphanChurn *OrphanChurnReport `json:"orphan_churn,omitempty"`
}
