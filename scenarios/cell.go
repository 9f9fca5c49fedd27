package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Cell sides.
const (
	SideClient = "client"
	SideTarget = "target"
)

// Fault actions a cell can inject at a time.
const (
	// FaultLinkDown sets the target's veth down.
	FaultLinkDown = "link-down"
	// FaultLinkDelete deletes the veth pair.
	FaultLinkDelete = "link-delete"
	// FaultRouteBlackhole, FaultRouteUnreachable, FaultRouteProhibit add a
	// route of that type for the target's address on the client side.
	FaultRouteBlackhole   = "route-blackhole"
	FaultRouteUnreachable = "route-unreachable"
	FaultRouteProhibit    = "route-prohibit"
	// FaultNftDrop and FaultNftReject add an nftables rule on the target
	// side that drops, or rejects with a TCP reset, packets to the
	// target's port.
	FaultNftDrop   = "nft-drop"
	FaultNftReject = "nft-reject"
	// FaultTargetKill kills the target: the built-in target runs
	// in-process, so it is emulated by closing the listener and resetting
	// every connection (RST), as the kernel does for a killed process.
	FaultTargetKill = "target-kill"
)

// FaultActions lists every fault action, in documentation order.
var FaultActions = []string{
	FaultLinkDown, FaultLinkDelete, FaultRouteBlackhole, FaultRouteUnreachable,
	FaultRouteProhibit, FaultNftDrop, FaultNftReject, FaultTargetKill,
}

// Cell runs the scenario inside a lab cell: a client network namespace and
// a target network namespace joined by a veth pair, made for the run and
// removed after it (needs root). See docs/lab.md.
type Cell struct {
	// Client and Target hold each side's settings.
	Client CellSide `yaml:"client" json:"client"`
	Target CellSide `yaml:"target" json:"target"`
	// Shaping puts a tbf qdisc on the client's veth.
	Shaping *Shaping `yaml:"shaping,omitempty" json:"shaping,omitempty"`
	// Faults are injected at their times during the run.
	Faults []Fault `yaml:"faults,omitempty" json:"faults,omitempty"`
}

// CellSide is one side of a cell.
type CellSide struct {
	// Sysctls are net.* sysctls the side's namespace owns, by dotted name.
	Sysctls map[string]SysctlValue `yaml:"sysctls,omitempty" json:"sysctls,omitempty"`
}

// SysctlValue is a sysctl's value as written to /proc/sys; a file may
// write it as a number or as text ("40000 40099").
type SysctlValue string

// UnmarshalText accepts any scalar.
func (v *SysctlValue) UnmarshalText(b []byte) error {
	*v = SysctlValue(strings.TrimSpace(string(b)))
	return nil
}

func (*SysctlValue) want() string { return "a sysctl value such as 1 or \"40000 40099\"" }

// Shaping is a token-bucket filter (tc's tbf) on the client's veth.
type Shaping struct {
	// Rate is the rate as tc writes it: 1mbit, 500kbit, 10mbit, 1gbit, 8000bit.
	Rate string `yaml:"rate" json:"rate"`
	// Burst is the bucket size in bytes.
	Burst int `yaml:"burst" json:"burst"`
	// Limit is how many bytes may wait in the queue.
	Limit int `yaml:"limit" json:"limit"`
}

// RateBits returns Rate in bits per second; ok is false when malformed.
func (s *Shaping) RateBits() (uint64, bool) { return parseRate(s.Rate) }

var rateRE = regexp.MustCompile(`^([0-9]+)(bit|kbit|mbit|gbit)$`)

func parseRate(s string) (uint64, bool) {
	m := rateRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || n > 1<<40 {
		return 0, false
	}
	mult := map[string]uint64{"bit": 1, "kbit": 1000, "mbit": 1000_000, "gbit": 1000_000_000}[m[2]]
	if n > math.MaxUint64/mult {
		return 0, false // n * mult would wrap around into a small rate
	}
	return n * mult, true
}

// Fault is one fault injected at a time after the load starts.
type Fault struct {
	At     Duration `yaml:"at" json:"at"`
	Action string   `yaml:"action" json:"action"`
}

// HostGlobalSysctls are net.* sysctls a network namespace does not own:
// absent inside one (the kernel keeps a single value for the machine) or
// read-only there. A cell refuses them; the VM lab varies them. Measured on
// Linux 6.18 by comparing /proc/sys/net in a fresh namespace with the host's.
var HostGlobalSysctls = []string{
	// Absent inside a network namespace.
	"net.core.bpf_jit_enable", "net.core.bpf_jit_harden", "net.core.bpf_jit_kallsyms", "net.core.bpf_jit_limit",
	"net.core.busy_poll", "net.core.busy_read", "net.core.default_qdisc", "net.core.dev_weight",
	"net.core.dev_weight_rx_bias", "net.core.dev_weight_tx_bias", "net.core.devconf_inherit_init_net",
	"net.core.fb_tunnels_only_for_init_net", "net.core.flow_limit_cpu_bitmap", "net.core.flow_limit_table_len",
	"net.core.gro_normal_batch", "net.core.high_order_alloc_disable", "net.core.max_skb_frags",
	"net.core.mem_pcpu_rsv", "net.core.message_burst", "net.core.message_cost", "net.core.netdev_budget",
	"net.core.netdev_budget_usecs", "net.core.netdev_max_backlog", "net.core.netdev_rss_key",
	"net.core.netdev_tstamp_prequeue", "net.core.netdev_unregister_timeout_secs", "net.core.rps_sock_flow_entries",
	"net.core.skb_defer_max", "net.core.warnings",
	"net.ipv4.cipso_cache_bucket_size", "net.ipv4.cipso_cache_enable", "net.ipv4.cipso_rbm_optfmt",
	"net.ipv4.cipso_rbm_strictvalid", "net.ipv4.fib_sync_mem", "net.ipv4.inet_peer_maxttl",
	"net.ipv4.inet_peer_minttl", "net.ipv4.inet_peer_threshold", "net.ipv4.ipfrag_secret_interval",
	"net.ipv4.route.error_burst", "net.ipv4.route.error_cost", "net.ipv4.route.gc_elasticity",
	"net.ipv4.route.gc_interval", "net.ipv4.route.gc_min_interval", "net.ipv4.route.gc_min_interval_ms",
	"net.ipv4.route.gc_thresh", "net.ipv4.route.gc_timeout", "net.ipv4.route.max_size",
	"net.ipv4.route.redirect_load", "net.ipv4.route.redirect_number", "net.ipv4.route.redirect_silence",
	"net.ipv4.tcp_available_ulp", "net.ipv4.tcp_low_latency", "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_mem",
	"net.ipv4.udp_mem", "net.ipv6.calipso_cache_bucket_size", "net.ipv6.calipso_cache_enable",
	"net.ipv6.ip6frag_secret_interval", "net.ipv6.mld_max_msf", "net.ipv6.mld_qrv",
	"net.netfilter.nf_log_all_netns", "net.nf_conntrack_max",
	// Read-only inside a network namespace.
	"net.core.rmem_default", "net.core.rmem_max", "net.core.wmem_default", "net.core.wmem_max",
	"net.ipv4.tcp_ehash_entries", "net.ipv4.udp_hash_entries",
	"net.ipv4.tcp_allowed_congestion_control", "net.ipv4.tcp_available_congestion_control",
	"net.netfilter.nf_conntrack_buckets", "net.netfilter.nf_conntrack_count",
	"net.netfilter.nf_conntrack_expect_max", "net.netfilter.nf_conntrack_max",
}

var sysctlNameRE = regexp.MustCompile(`^net(\.[a-z0-9_-]+)+$`)

// MaxCellWorkers bounds load.workers in a cell: each worker holds an OS
// thread inside the client namespace for the whole run.
const MaxCellWorkers = 1000

func validateCell(v *validator, s *Scenario) {
	c := s.Cell
	if s.Target.Address != "" {
		v.add("target.address", "target.address cannot be used with cell: a cell runs the built-in target in its target namespace and sends the load there")
	}
	if s.Load.Workers > MaxCellWorkers {
		v.add("load.workers", fmt.Sprintf("load.workers: %d is too many for a cell (at most %d: each worker holds an OS thread inside the client namespace)", s.Load.Workers, MaxCellWorkers))
	}
	for _, side := range []struct {
		name string
		s    CellSide
	}{{SideClient, c.Client}, {SideTarget, c.Target}} {
		names := make([]string, 0, len(side.s.Sysctls))
		for n := range side.s.Sysctls {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			path := "cell." + side.name + ".sysctls." + n
			val := string(side.s.Sysctls[n])
			switch {
			case !sysctlNameRE.MatchString(n):
				v.add(path, fmt.Sprintf("cell.%s.sysctls: %q is not a network-namespace sysctl; a cell sets only net.* sysctls its namespaces own, written with dots (net.ipv4.tcp_fin_timeout)", side.name, n))
			case slices.Contains(HostGlobalSysctls, n):
				v.add(path, fmt.Sprintf("cell.%s.sysctls: %s is host-global (one value for the whole machine, absent or read-only inside a network namespace): a cell cannot vary it and nobufs never writes the host's; the VM lab (a guest with its own kernel and RAM) is the way to vary it", side.name, n))
			case val == "" || len(val) > 256 || strings.ContainsAny(val, "\n\r\x00"):
				v.add(path, fmt.Sprintf("cell.%s.sysctls.%s: want a value of 1–256 characters on one line, got %q", side.name, n, val))
			}
		}
	}
	if sh := c.Shaping; sh != nil {
		if r, ok := sh.RateBits(); !ok {
			v.add("cell.shaping.rate", fmt.Sprintf("cell.shaping.rate %q: want a rate such as 1mbit, 500kbit or 8000bit", sh.Rate))
		} else {
			v.num("cell.shaping.rate", float64(r))
		}
		v.num("cell.shaping.burst", float64(sh.Burst))
		v.num("cell.shaping.limit", float64(sh.Limit))
	}
	for i, f := range c.Faults {
		v.numAt(fmt.Sprintf("cell.faults[%d].at", i), "cell.faults[].at", float64(f.At))
		if f.At >= s.Stop.Duration {
			v.add(fmt.Sprintf("cell.faults[%d].at", i), fmt.Sprintf("cell.faults[%d].at %s is not before stop.duration %s: the fault would never happen", i, f.At, s.Stop.Duration))
		}
		v.enumAt(fmt.Sprintf("cell.faults[%d].action", i), "cell.faults[].action", f.Action)
	}
}
