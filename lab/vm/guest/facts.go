// Package guest is what nobufs does when it runs as /init, PID 1, inside a
// qemu guest that lab/vm booted: it mounts /proc, /sys and /dev, brings the
// loopback interface up (it is down at boot), reads the facts the kernel sized
// from the guest's memory, opens the results channel (the second serial port),
// streams records there as lab/vm frames them, reports the kernel log lines
// that matter (TCP out of memory, orphans, OOM) as events, writes a final done
// record and ends the guest.
//
// Everything that changes the machine refuses to run unless the process is
// PID 1 (ErrNotInit): run by mistake on a host, it does nothing.
package guest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nobufs/nobufs/lab/vm"
)

// ErrNotInit is returned by the functions that mount file systems, configure
// interfaces or power off, when the process is not PID 1.
var ErrNotInit = errors.New("guest: not PID 1: refusing to change this machine")

// ReadFacts reads the guest facts from the proc file system under root ("/"
// in the guest). The values are the kernel's own, not computed.
func ReadFacts(root string) (vm.Facts, error) {
	var f vm.Facts
	var errs []error
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			errs = append(errs, fmt.Errorf("facts: %w", err))
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	triple := func(rel string, dst *[3]int64) {
		s := read(rel)
		if s == "" {
			return
		}
		fields := strings.Fields(s)
		if len(fields) != 3 {
			errs = append(errs, fmt.Errorf("facts: %s: %q: want 3 numbers", rel, s))
			return
		}
		for i, fl := range fields {
			v, err := strconv.ParseInt(fl, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("facts: %s: %w", rel, err))
				return
			}
			dst[i] = v
		}
	}
	single := func(rel string, dst *int64) {
		s := read(rel)
		if s == "" {
			return
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("facts: %s: %w", rel, err))
			return
		}
		*dst = v
	}
	f.Release = read("proc/sys/kernel/osrelease")
	f.Cmdline = read("proc/cmdline")
	if mi := read("proc/meminfo"); mi != "" {
		var ok [2]bool
		for _, line := range strings.Split(mi, "\n") {
			k, v, _ := strings.Cut(line, ":")
			var dst *int64
			switch k {
			case "MemTotal":
				dst, ok[0] = &f.MemTotalKB, true
			case "MemAvailable":
				dst, ok[1] = &f.MemAvailableKB, true
			default:
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("facts: meminfo %s: %w", k, err))
			}
			*dst = n
		}
		if !ok[0] {
			errs = append(errs, errors.New("facts: meminfo has no MemTotal"))
		}
	}
	triple("proc/sys/net/ipv4/tcp_mem", &f.TCPMem)
	triple("proc/sys/net/ipv4/tcp_rmem", &f.TCPRmem)
	triple("proc/sys/net/ipv4/tcp_wmem", &f.TCPWmem)
	triple("proc/sys/net/ipv4/udp_mem", &f.UDPMem)
	single("proc/sys/net/ipv4/tcp_max_orphans", &f.TCPMaxOrphans)
	single("proc/sys/net/core/somaxconn", &f.Somaxconn)
	single("proc/sys/net/core/netdev_max_backlog", &f.NetdevMaxBacklog)
	if up := read("proc/uptime"); up != "" {
		first, _, _ := strings.Cut(up, " ")
		v, err := strconv.ParseFloat(first, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("facts: uptime: %w", err))
		}
		f.UptimeSeconds = v
	}
	// Optional: a kernel without the file says nothing of its clock.
	if b, err := os.ReadFile(filepath.Join(root, "sys/devices/system/clocksource/clocksource0/current_clocksource")); err == nil {
		f.Clocksource = strings.TrimSpace(string(b))
	}
	if online := read("sys/devices/system/cpu/online"); online != "" {
		f.CPUs = countCPUs(online)
	}
	f.PageSize = os.Getpagesize()
	return f, errors.Join(errs...)
}

// countCPUs counts the CPUs in a list such as "0-3,5".
func countCPUs(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a {
			return 0
		}
		n += b - a + 1
	}
	return n
}

// kmsgRecord is one /dev/kmsg record: "prio,seq,usec,flags;text".
type kmsgRecord struct {
	Seq  uint64
	US   int64
	Text string
}

// parseKmsg decodes one read of /dev/kmsg. Continuation lines (" KEY=value")
// are dropped.
func parseKmsg(b []byte) (kmsgRecord, bool) {
	head, text, ok := bytes.Cut(b, []byte{';'})
	if !ok {
		return kmsgRecord{}, false
	}
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	fields := strings.Split(string(head), ",")
	if len(fields) < 3 {
		return kmsgRecord{}, false
	}
	seq, err1 := strconv.ParseUint(fields[1], 10, 64)
	us, err2 := strconv.ParseInt(fields[2], 10, 64)
	if err1 != nil || err2 != nil {
		return kmsgRecord{}, false
	}
	return kmsgRecord{Seq: seq, US: us, Text: string(text)}, true
}

// kmsgKinds are the kernel log lines reported as events.
var kmsgKinds = []struct {
	text string
	kind string
}{
	{"TCP: out of memory", vm.EventTCPOOM},
	{"too many orphaned sockets", vm.EventOrphans},
	{"Out of memory", vm.EventOOM},
}

// eventKind tells whether a kernel log line is one to report.
func eventKind(text string) (string, bool) {
	for _, k := range kmsgKinds {
		if strings.Contains(text, k.text) {
			return k.kind, true
		}
	}
	return "", false
}
