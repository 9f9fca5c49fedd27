package scenarios

import (
	"fmt"
	"slices"
	"time"
)

// Kinds of this file.
const (
	// KindDeadPeer keeps one TCP connection per worker to a peer that stops
	// reading or vanishes, and keeps writing to it (seed 003).
	KindDeadPeer = "dead-peer"
	// KindUDPPush sends UDP datagrams at a rate with IP_RECVERR set, so
	// local drops come back as ENOBUFS.
	KindUDPPush = "udp-push"
)

// Target modes of this file.
const (
	// TargetNonReader accepts, reads dead_peer.read_bytes bytes, then never
	// reads again (the peer is alive: it answers zero-window probes).
	TargetNonReader = "non-reader"
	// TargetVanish accepts, reads and discards, and after
	// dead_peer.vanish_after closes with RST (SO_LINGER 0).
	TargetVanish = "vanish"
	// TargetUDPSink receives UDP datagrams and discards them.
	TargetUDPSink = "udp-sink"
)

// DeadPeer is the dead-peer kind: each worker owns one connection and each
// operation is one write of Chunk bytes with a write deadline of
// socket.io_timeout. A write that hits the deadline is a blocked write.
type DeadPeer struct {
	// Chunk is the size of each write in bytes.
	Chunk int `yaml:"chunk" json:"chunk"`
	// ReadBytes is how many bytes a non-reader target reads from each
	// connection before it stops reading (0: it never reads).
	ReadBytes int `yaml:"read_bytes" json:"read_bytes"`
	// VanishAfter is how long a vanish target keeps a connection before
	// it resets it.
	VanishAfter Duration `yaml:"vanish_after" json:"vanish_after"`
	// RedialAfter is how long a worker waits after its connection ended
	// (error or reaped) or a connect failed before it dials again.
	RedialAfter Duration `yaml:"redial_after" json:"redial_after"`
	// Top is how many sockets the summary lists by queued bytes.
	Top int `yaml:"top" json:"top"`
	// Reaper closes the socket holding the most queued bytes while the
	// total passes a bound.
	Reaper Reaper `yaml:"reaper" json:"reaper"`
}

// Reaper is the optional mitigation of seed 003.
type Reaper struct {
	// MaxQueued is the bound on the bytes queued in all send buffers
	// together; 0 turns the reaper off.
	MaxQueued int64 `yaml:"max_queued" json:"max_queued"`
	// Every is how often the reaper measures the send queues.
	Every Duration `yaml:"every" json:"every"`
}

// UDPPush is the udp-push kind: each operation is one datagram sent on
// the worker's connected UDP socket.
type UDPPush struct {
	// Size is the datagram payload in bytes.
	Size int `yaml:"size" json:"size"`
	// RecvErr sets IP_RECVERR (IPV6_RECVERR) so the kernel reports local
	// drops such as a full qdisc as ENOBUFS from sendto (Linux).
	RecvErr bool `yaml:"recverr" json:"recverr"`
}

// deadPeerTargets are the built-in targets a dead-peer scenario may use.
var deadPeerTargets = []string{TargetNonReader, TargetVanish, TargetSink}

func validateDeadPeer(v *validator, s *Scenario) {
	p := s.DeadPeer
	v.num("dead_peer.chunk", float64(p.Chunk))
	v.num("dead_peer.read_bytes", float64(p.ReadBytes))
	v.num("dead_peer.vanish_after", float64(p.VanishAfter))
	v.num("dead_peer.redial_after", float64(p.RedialAfter))
	v.num("dead_peer.top", float64(p.Top))
	v.num("dead_peer.reaper.max_queued", float64(p.Reaper.MaxQueued))
	v.num("dead_peer.reaper.every", float64(p.Reaper.Every))
	if b := s.Target.Builtin; b != "" && !slices.Contains(deadPeerTargets, b) {
		v.add("target.builtin", fmt.Sprintf("kind %s needs target.builtin %s, %s or %s, got %s", KindDeadPeer, TargetNonReader, TargetVanish, TargetSink, b))
	}
}

func validateUDPPush(v *validator, s *Scenario) {
	p := s.UDPPush
	v.num("udp_push.size", float64(p.Size))
	if b := s.Target.Builtin; b != "" && b != TargetUDPSink {
		v.add("target.builtin", fmt.Sprintf("kind %s sends UDP and needs target.builtin: %s, got %s", KindUDPPush, TargetUDPSink, b))
	}
	if s.Socket.UserTimeout != 0 {
		v.add("socket.user_timeout", "socket.user_timeout is a TCP option; kind udp-push sends UDP")
	}
	if s.Socket.Linger != -1 {
		v.add("socket.linger", "socket.linger applies to TCP; kind udp-push sends UDP (leave it -1)")
	}
}

// validateUDPTarget keeps the UDP sink to the UDP kind.
func validateUDPTarget(v *validator, s *Scenario) {
	if s.Kind != KindUDPPush && s.Target.Builtin == TargetUDPSink {
		v.add("target.builtin", fmt.Sprintf("target.builtin: %s receives UDP and serves kind %s only", TargetUDPSink, KindUDPPush))
	}
}

var deadPeerSpec = KindSpec{
	Name:    KindDeadPeer,
	Section: "dead_peer",
	Defaults: func(s *Scenario) {
		s.DeadPeer = &DeadPeer{Chunk: 16384, VanishAfter: Duration(time.Second), RedialAfter: Duration(100 * time.Millisecond),
			Top: 5, Reaper: Reaper{Every: Duration(100 * time.Millisecond)}}
		s.Socket.IOTimeout = Duration(500 * time.Millisecond)
		s.Stop = Stop{Duration: Duration(10 * time.Second), MaxOps: 1_000_000}
		s.Failure.Classes = []string{"enobufs", "deadline", "etimedout", "econnreset", "epipe"}
	},
	DefaultTarget: func(*Scenario) string { return TargetNonReader },
	Validate:      validateDeadPeer,
	TargetOptions: func(s *Scenario) TargetOptions {
		return TargetOptions{ReadBytes: int64(s.DeadPeer.ReadBytes), VanishAfter: s.DeadPeer.VanishAfter}
	},
}

var udpPushSpec = KindSpec{
	Name:    KindUDPPush,
	Section: "udp_push",
	Defaults: func(s *Scenario) {
		s.UDPPush = &UDPPush{Size: 1000, RecvErr: true}
		s.Load = Load{Model: ModelOpen, Workers: 2, Rate: 1000, Arrival: ArrivalConstant, Seed: 1}
		s.Stop = Stop{Duration: Duration(5 * time.Second), MaxOps: 1_000_000}
		s.Failure.Classes = []string{"enobufs"}
	},
	DefaultTarget: func(*Scenario) string { return TargetUDPSink },
	Validate:      validateUDPPush,
}
