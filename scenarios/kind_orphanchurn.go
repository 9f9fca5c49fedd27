package scenarios

import (
	"fmt"
	"time"
)

// KindOrphanChurn is P2P churn whose connections end as orphans: each
// connection's peer writes one burst and closes at once, while the client
// reads it slowly. Until the client has read it, the kernel holds the rest
// of the burst for a socket no program owns any more (an orphan). When TCP
// memory passes tcp_mem, or the orphans pass tcp_max_orphans, the kernel
// logs "TCP: out of memory -- consider tuning tcp_mem" and resets orphans:
// the reading client sees ECONNRESET before the burst's end, recorded as
// class orphan-reset (LAB.md §6, docs/vm.md).
const KindOrphanChurn = "orphan-churn"

// TargetOrphanPeer answers each connection's request (an 8-byte churn
// header asking for a reply length) with that many bytes and closes at
// once, leaving what the client has not read yet to the kernel.
const TargetOrphanPeer = "orphan-peer"

// OrphanChurn is the orphan-churn kind: each operation is one connection's
// life — connect to one of Peers addresses, ask for a burst of a drawn
// size, read it slowly (at most ReadBytes every ReadEvery) to its end and
// the peer's FIN, close. Run it with the open model: the arrival rate sets
// how many connections are being read at once.
type OrphanChurn struct {
	// Peers is how many loopback addresses the load is spread over (the
	// target's address and the next Peers-1, same port); the orphan-peer
	// target listens on all of them.
	Peers int `yaml:"peers" json:"peers"`
	// Burst is the distribution of the bytes the peer writes before it
	// closes (a size distribution, see ParseDist).
	Burst string `yaml:"burst" json:"burst"`
	// ReadBytes is the most bytes one read takes.
	ReadBytes int `yaml:"read_bytes" json:"read_bytes"`
	// ReadEvery is the pause before each read.
	ReadEvery Duration `yaml:"read_every" json:"read_every"`
	// PeerWriteTimeout is how long the peer's write of the burst may block
	// (no room in its send buffer, TCP memory under pressure) before the
	// peer closes anyway, orphaning what it wrote so far.
	PeerWriteTimeout Duration `yaml:"peer_write_timeout" json:"peer_write_timeout"`
}

// BurstDist returns the parsed burst distribution; call it on a validated
// scenario.
func (o *OrphanChurn) BurstDist() (Dist, error) {
	return ParseDist(o.Burst, false, Bounds["orphan_churn.burst"])
}

func validateOrphanChurn(v *validator, s *Scenario) {
	o := s.OrphanChurn
	v.num("orphan_churn.peers", float64(o.Peers))
	v.num("orphan_churn.read_bytes", float64(o.ReadBytes))
	v.num("orphan_churn.read_every", float64(o.ReadEvery))
	v.num("orphan_churn.peer_write_timeout", float64(o.PeerWriteTimeout))
	if _, err := ParseDist(o.Burst, false, Bounds["orphan_churn.burst"]); err != nil {
		v.add("orphan_churn.burst", fmt.Sprintf("orphan_churn.burst: %v", err))
	}
	if b := s.Target.Builtin; b != "" && b != TargetOrphanPeer {
		v.add("target.builtin", fmt.Sprintf("kind %s needs target.builtin: %s (it writes each burst and closes), got %s", KindOrphanChurn, TargetOrphanPeer, b))
	}
	if s.Target.Address != "" {
		v.add("target.address", fmt.Sprintf("kind %s counts a reset before the burst's end as an orphan killed by the kernel, which holds only for its own orphan-peer target: target.address cannot be used", KindOrphanChurn))
	}
	if o.Peers > 1 && s.Cell != nil {
		v.add("orphan_churn.peers", fmt.Sprintf("orphan_churn.peers: %d peers need %d consecutive loopback addresses, and a cell's target side has one address; set orphan_churn.peers: 1 in a cell", o.Peers, o.Peers))
	} else if o.Peers > 1 {
		if _, err := PeerAddrs(s.Target.Listen, o.Peers); err != nil {
			v.add("orphan_churn.peers", fmt.Sprintf("orphan_churn.peers: %v (target.listen is %s)", err, s.Target.Listen))
		}
	}
}

var orphanChurnSpec = KindSpec{
	Name:    KindOrphanChurn,
	Section: "orphan_churn",
	Defaults: func(s *Scenario) {
		s.OrphanChurn = &OrphanChurn{Peers: 16, Burst: "fixed(65536)", ReadBytes: 4096, ReadEvery: Duration(time.Second),
			PeerWriteTimeout: Duration(5 * time.Second)}
		s.Load = Load{Model: ModelOpen, Workers: 2000, Rate: 5, Arrival: ArrivalConstant, Seed: 1}
		s.Stop = Stop{Duration: Duration(60 * time.Second), MaxOps: 1_000_000, OnFailure: true}
		s.Failure.Classes = []string{"orphan-reset", "econnreset", "eof", "stall", "guest-panic", "guest-oom"}
	},
	DefaultTarget: func(*Scenario) string { return TargetOrphanPeer },
	Validate:      validateOrphanChurn,
	TargetOptions: func(s *Scenario) TargetOptions {
		return TargetOptions{Peers: s.OrphanChurn.Peers, SendTimeout: s.OrphanChurn.PeerWriteTimeout}
	},
}
