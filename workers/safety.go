package workers

import (
	"fmt"
	"net/netip"
)

// CheckTarget decides whether load may be sent to addr (IP:PORT). Loopback
// is always allowed. Otherwise the address must be inside a prefix given on
// the command line (flagAllow), or inside one of the scenario's own allow
// list when the address is one a scenario may admit (ScenarioAdmits): a
// scenario file alone can never aim nobufs at a public address, a shared
// (carrier-grade NAT) or benchmarking network, or a cloud metadata
// service. The unspecified address (0.0.0.0, ::) is not a host at all. A
// refusal wraps ErrTargetRefused and says what would allow it.
func CheckTarget(addr string, scenarioAllow []string, flagAllow []netip.Prefix) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("target %q: want IP:PORT: %w", addr, err)
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() {
		return fmt.Errorf("target %s: %w: %s is the unspecified address (\"any\"), not a host; give the address of the target", addr, ErrTargetRefused, ip)
	}
	if ip.IsLoopback() {
		return nil
	}
	for _, p := range flagAllow {
		if p.Contains(ip) {
			return nil
		}
	}
	one := netip.PrefixFrom(ip, ip.BitLen())
	for _, s := range scenarioAllow {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Contains(ip) {
			continue
		}
		if why := notAdmitted(ip); why != "" {
			return fmt.Errorf("target %s: %w: it is %s; the scenario's target.allow admits only private, link-local and documentation addresses; pass --allow-target %s", addr, ErrTargetRefused, why, one)
		}
		return nil
	}
	return fmt.Errorf("target %s: %w: only loopback is allowed by default; to load another host you own, pass --allow-target %s (or list the prefix in the scenario's target.allow for a private address)", addr, ErrTargetRefused, one)
}

// ScenarioAdmits reports whether a scenario's own target.allow may admit
// ip: a private (RFC 1918, IPv6 ULA), link-local or documentation
// address, but not a cloud metadata address.
func ScenarioAdmits(ip netip.Addr) bool { return notAdmitted(ip.Unmap()) == "" }

// metadata are the cloud instances' metadata services: link-local, but
// never a target a file may name.
var metadata = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}

// documentation are the address blocks reserved for documentation.
var documentation = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
}

// notAdmitted says why a scenario may not admit ip, "" when it may.
func notAdmitted(ip netip.Addr) string {
	for _, m := range metadata {
		if ip == m {
			return "a cloud metadata service address"
		}
	}
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() {
		return ""
	}
	for _, p := range documentation {
		if p.Contains(ip) {
			return ""
		}
	}
	switch {
	case netip.MustParsePrefix("100.64.0.0/10").Contains(ip):
		return "in the shared address space of carrier-grade NAT (100.64.0.0/10), someone else's network"
	case netip.MustParsePrefix("198.18.0.0/15").Contains(ip):
		return "in the benchmarking range (198.18.0.0/15), which a lab may route anywhere"
	}
	return "a public address"
}
