package scenarios

import (
	"fmt"
	"net/netip"
)

// Churn is the churn kind: P2P-like connection churn across many
// destination addresses. Each operation is one connection's whole life:
// connect to one of Peers addresses, exchange bursts for a drawn lifetime,
// then close by FIN or, for a fraction RST of connections, by RST.
type Churn struct {
	// Peers is how many destination addresses the load is spread over:
	// the target's address and the next Peers-1 addresses (IPv4 loopback),
	// same port. The built-in churn-peer target listens on all of them.
	Peers int `yaml:"peers" json:"peers"`
	// Lifetime is the distribution of a connection's life (a duration
	// distribution, see ParseDist).
	Lifetime string `yaml:"lifetime" json:"lifetime"`
	// Gap is the distribution of the pause between two bursts.
	Gap string `yaml:"gap" json:"gap"`
	// Send is the distribution of bytes the client sends in a burst.
	Send string `yaml:"send" json:"send"`
	// Reply is the distribution of bytes the peer answers with per burst.
	Reply string `yaml:"reply" json:"reply"`
	// RST is the fraction of connections closed with RST (SO_LINGER 0)
	// instead of FIN.
	RST float64 `yaml:"rst" json:"rst"`
}

// Dists parses the churn distributions; call it on a validated scenario.
func (c *Churn) Dists() (lifetime, gap, send, reply Dist, err error) {
	if lifetime, err = ParseDist(c.Lifetime, true, Bounds["churn.lifetime"]); err != nil {
		return
	}
	if gap, err = ParseDist(c.Gap, true, Bounds["churn.gap"]); err != nil {
		return
	}
	if send, err = ParseDist(c.Send, false, Bounds["churn.send"]); err != nil {
		return
	}
	reply, err = ParseDist(c.Reply, false, Bounds["churn.reply"])
	return
}

// PeerAddrs returns the Peers addresses starting at base (IP:PORT): base,
// base+1, … on the same port. Several peers need an IPv4 loopback base and
// must stay inside 127.0.0.0/8.
func PeerAddrs(base string, peers int) ([]netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(base)
	if err != nil {
		return nil, fmt.Errorf("address %q: want IP:PORT", base)
	}
	if peers <= 1 {
		return []netip.AddrPort{ap}, nil
	}
	ip := ap.Addr().Unmap()
	if !ip.Is4() || !ip.IsLoopback() {
		return nil, fmt.Errorf("%d peers need an IPv4 loopback address (127.0.0.0/8), got %s", peers, ip)
	}
	b := ip.As4()
	first := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if first+uint32(peers)-1 > 0xffffff {
		return nil, fmt.Errorf("%d peers from %s run past 127.255.255.255", peers, ip)
	}
	out := make([]netip.AddrPort, peers)
	for i := range out {
		v := first + uint32(i)
		out[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(v >> 16), byte(v >> 8), byte(v)}), ap.Port())
	}
	return out, nil
}

func validateChurn(v *validator, s *Scenario) {
	c := s.Churn
	v.num("churn.peers", float64(c.Peers))
	v.num("churn.rst", c.RST)
	for _, f := range []struct {
		path, val string
		dur       bool
	}{{"churn.lifetime", c.Lifetime, true}, {"churn.gap", c.Gap, true}, {"churn.send", c.Send, false}, {"churn.reply", c.Reply, false}} {
		if _, err := ParseDist(f.val, f.dur, Bounds[f.path]); err != nil {
			v.add(f.path, fmt.Sprintf("%s: %v", f.path, err))
		}
	}
	if b := s.Target.Builtin; b != "" && b != TargetChurnPeer {
		v.add("target.builtin", fmt.Sprintf("kind churn needs target.builtin: %s (it answers each burst), got %s", TargetChurnPeer, b))
	}
	if s.Target.Launched() && !s.HasPayload() {
		v.add("wire", "kind churn against a launched server needs wire (a greeting or payload): its bursts are churn-peer's framing otherwise")
	}
	if c.Peers > 1 && s.Target.Launched() {
		v.add("churn.peers", fmt.Sprintf("churn.peers: %d; a launched server listens on one address: set churn.peers: 1", c.Peers))
	} else if c.Peers > 1 && s.Cell != nil {
		v.add("churn.peers", fmt.Sprintf("churn.peers: %d peers need %d consecutive loopback addresses, and a cell's target side has one address (its veth's); set churn.peers: 1 in a cell", c.Peers, c.Peers))
	} else if c.Peers > 1 {
		base, path := s.Target.Listen, "target.listen"
		if s.Target.Address != "" {
			base, path = s.Target.Address, "target.address"
		}
		if _, err := netip.ParseAddrPort(base); err == nil {
			if _, err := PeerAddrs(base, c.Peers); err != nil {
				v.add("churn.peers", fmt.Sprintf("churn.peers: %v (%s is %s)", err, path, base))
			}
		}
	}
}

var churnSpec = KindSpec{
	Name:    KindChurn,
	Section: "churn",
	Defaults: func(s *Scenario) {
		s.Churn = &Churn{Peers: 16, Lifetime: "exponential(2s)", Gap: "exponential(500ms)", Send: "exponential(2048)", Reply: "exponential(8192)"}
	},
	DefaultTarget: func(*Scenario) string { return TargetChurnPeer },
	Validate:      validateChurn,
	TargetOptions: func(s *Scenario) TargetOptions { return TargetOptions{Peers: s.Churn.Peers} },
	// An external server listens on one address: the default of 16 peers
	// (consecutive loopback addresses, which the built-in churn-peer
	// listens on) would send most connects nowhere.
	Resolve: func(s *Scenario, given func(string) bool) {
		if (s.Target.Address != "" || s.Target.Launched()) && !given("churn.peers") {
			s.Churn.Peers = 1
		}
	},
}
