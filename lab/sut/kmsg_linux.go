package sut

import (
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// KmsgWatch reads the kernel log from the moment it was opened and keeps
// the records that match its rules. Sample reads what is there without
// blocking; no goroutine runs between samples. Not safe for concurrent use.
type KmsgWatch struct {
	fd      int
	m       matcher
	events  []KmsgEvent
	dropped uint64
	missed  uint64
	lastSeq uint64
	buf     []byte
}

// OpenKmsg opens /dev/kmsg at its end (older records are not read). With
// no rules, KmsgRules. An unreadable kernel log is ErrKmsgUnavailable.
func OpenKmsg(rules []Rule) (*KmsgWatch, error) { return openKmsg("/dev/kmsg", rules) }

func openKmsg(path string, rules []Rule) (*KmsgWatch, error) {
	if len(rules) == 0 {
		rules = KmsgRules
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sut: %w: %w", ErrKmsgUnavailable, &os.PathError{Op: "open", Path: path, Err: err})
	}
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sut: %w: %w", ErrKmsgUnavailable, &os.PathError{Op: "seek", Path: path, Err: err})
	}
	return &KmsgWatch{fd: fd, m: matcher{rules: slices.Clone(rules)}, buf: make([]byte, 8192)}, nil
}

// maxKmsgRead bounds the records one Sample reads.
const maxKmsgRead = 10000

// Sample reads the records written since the previous one (at most 10000;
// the rest on the next call).
func (k *KmsgWatch) Sample() (KmsgSample, error) {
	if k.fd < 0 {
		return KmsgSample{}, fmt.Errorf("sut: kmsg: %w", os.ErrClosed)
	}
	now := time.Now()
	var err error
	for range maxKmsgRead {
		n, rerr := unix.Read(k.fd, k.buf)
		if rerr == unix.EINTR {
			continue
		}
		if rerr == unix.EAGAIN {
			break
		}
		if rerr == unix.EPIPE {
			// Records were overwritten before they were read; the next
			// read returns the oldest one left. Counted by sequence below.
			continue
		}
		if rerr != nil {
			err = fmt.Errorf("sut: kmsg: %w", os.NewSyscallError("read", rerr))
			break
		}
		rec, perr := ParseKmsg(string(k.buf[:n]))
		if perr != nil {
			continue
		}
		if k.lastSeq != 0 && rec.Seq > k.lastSeq+1 {
			k.missed += rec.Seq - k.lastSeq - 1
		}
		k.lastSeq = rec.Seq
		class := k.m.feed(rec.Text, now, rec.Time)
		if class == "" {
			continue
		}
		if len(k.events) < MaxKmsgEvents {
			k.events = append(k.events, KmsgEvent{Class: class, Kernel: rec.Time, Seq: rec.Seq, Level: rec.Level, Text: cutLine(rec.Text, MaxMatchLine)})
		} else {
			k.dropped++
		}
	}
	s := KmsgSample{Events: k.events, Dropped: k.dropped, Missed: k.missed, LogSample: k.m.sample()}
	k.events, k.dropped = nil, 0
	return s, err
}

// SetOnMatch makes Sample call fn with each record that matches a rule,
// as it reads it.
func (k *KmsgWatch) SetOnMatch(fn func(MatchedLine)) { k.m.setOnMatch(fn) }

// Close closes the kernel log.
func (k *KmsgWatch) Close() error {
	if k.fd < 0 {
		return nil
	}
	err := unix.Close(k.fd)
	k.fd = -1
	if err != nil {
		return fmt.Errorf("sut: kmsg: %w", os.NewSyscallError("close", err))
	}
	return nil
}
