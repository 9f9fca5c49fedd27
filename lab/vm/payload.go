package vm

import (
	"encoding/json"
	"fmt"
)

// Facts is the payload of the "facts" record: what the guest kernel sized
// from its memory, read (not computed) inside the guest at boot.
type Facts struct {
	Release          string   `json:"release"`            // uname -r of the guest kernel
	Cmdline          string   `json:"cmdline"`            // /proc/cmdline
	CPUs             int      `json:"cpus"`               // CPUs online in the guest
	MemTotalKB       int64    `json:"mem_total_kb"`       // MemTotal in /proc/meminfo
	MemAvailableKB   int64    `json:"mem_available_kb"`   // MemAvailable when the facts were read
	TCPMem           [3]int64 `json:"tcp_mem"`            // net.ipv4.tcp_mem, pages: min pressure max
	TCPRmem          [3]int64 `json:"tcp_rmem"`           // net.ipv4.tcp_rmem, bytes: min default max
	TCPWmem          [3]int64 `json:"tcp_wmem"`           // net.ipv4.tcp_wmem, bytes
	UDPMem           [3]int64 `json:"udp_mem"`            // net.ipv4.udp_mem, pages
	TCPMaxOrphans    int64    `json:"tcp_max_orphans"`    // net.ipv4.tcp_max_orphans
	Somaxconn        int64    `json:"somaxconn"`          // net.core.somaxconn
	NetdevMaxBacklog int64    `json:"netdev_max_backlog"` // net.core.netdev_max_backlog
	PageSize         int      `json:"page_size"`          // bytes per page, to read tcp_mem in bytes
	UptimeSeconds    float64  `json:"uptime_s"`           // guest uptime when the facts were read (kernel boot time)
	Clocksource      string   `json:"clocksource"`        // the kernel's clock: tsc, hpet, or refined-jiffies (which loses time when qemu is starved)
	ResultsDevice    string   `json:"results_device"`     // where the guest writes its records
	Loopback         bool     `json:"loopback_up"`        // lo was brought up
}

// TCPMemMaxBytes is tcp_mem's hard limit in bytes.
func (f Facts) TCPMemMaxBytes() int64 { return f.TCPMem[2] * int64(f.PageSize) }

// Event kinds: kernel log lines the guest reports as "event" records.
const (
	EventTCPOOM     = "tcp-oom"     // "TCP: out of memory -- consider tuning tcp_mem"
	EventOrphans    = "tcp-orphans" // "TCP: too many orphaned sockets"
	EventOOM        = "oom"         // "Out of memory: …" (the OOM killer, or no process left to kill)
	EventKmsgLost   = "kmsg-lost"   // the kernel log ring overwrote lines before the guest read them
	EventKmsgFailed = "kmsg-failed" // /dev/kmsg could not be read: no events will follow
)

// Event is the payload of an "event" record.
type Event struct {
	Kind     string `json:"kind"`
	Text     string `json:"text,omitempty"`      // the kernel's line
	KernelUS int64  `json:"kernel_us,omitempty"` // its timestamp, µs since the guest booted
	KmsgSeq  uint64 `json:"kmsg_seq,omitempty"`  // its sequence number in the kernel log
}

// Done is the payload of the "done" record, the guest's last word.
type Done struct {
	OK    bool   `json:"ok"`              // the caller's function returned no error
	Error string `json:"error,omitempty"` // its error text when not OK
	Lost  int    `json:"lost,omitempty"`  // records that could not be written
}

// Decode unmarshals the record's payload into v, strictly.
func (r Record) Decode(v any) error {
	if err := json.Unmarshal(r.Payload, v); err != nil {
		return fmt.Errorf("record %d %s: %w", r.Seq, r.Type, err)
	}
	return nil
}
