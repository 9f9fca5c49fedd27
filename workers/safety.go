package workers

import (
	"fmt"
	"net/netip"
)

// CheckTarget decides whether load may be sent to addr (IP:PORT). Loopback
// is always allowed. Otherwise the address must be inside a prefix given on
// the command line (flagAllow), or inside one of the scenario's own allow
// list when the address is not a public one: a scenario file alone can
// never aim nobufs at a public address. The refusal wraps ErrTargetRefused
// and says what would allow it.
func CheckTarget(addr string, scenarioAllow []string, flagAllow []netip.Prefix) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("target %q: want IP:PORT: %w", addr, err)
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() {
		return nil
	}
	for _, p := range flagAllow {
		if p.Contains(ip) {
			return nil
		}
	}
	public := !(ip.IsPrivate() || ip.IsLinkLocalUnicast() || isSharedOrTest(ip))
	for _, s := range scenarioAllow {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Contains(ip) {
			continue
		}
		if public {
			return fmt.Errorf("target %s: %w: it is a public address; the scenario's target.allow cannot admit public addresses, pass --allow-target %s", addr, ErrTargetRefused, netip.PrefixFrom(ip, ip.BitLen()))
		}
		return nil
	}
	return fmt.Errorf("target %s: %w: only loopback is allowed by default; to load another host you own, pass --allow-target %s (or list the prefix in the scenario's target.allow for a private address)", addr, ErrTargetRefused, netip.PrefixFrom(ip, ip.BitLen()))
}

// isSharedOrTest reports the carrier-grade NAT range and the documentation
// ranges, which are not public hosts either.
func isSharedOrTest(ip netip.Addr) bool {
	for _, s := range []string{"100.64.0.0/10", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32"} {
		if netip.MustParsePrefix(s).Contains(ip) {
			return true
		}
	}
	return false
}
