package vmlab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
)

// setNoFile sets the guest's RLIMIT_NOFILE, soft and hard (the guest's
// /init is root in its own machine).
func setNoFile(n uint64) error {
	if n == 0 {
		return nil
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: n, Max: n}); err != nil {
		return fmt.Errorf("guest: RLIMIT_NOFILE %d: %w", n, err)
	}
	return nil
}

// applySysctls writes each sysctl in the guest and reads it back; the
// guest is its own machine, so host-global ones are fine here.
func applySysctls(m map[string]scenarios.SysctlValue) (map[string]string, error) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	read := map[string]string{}
	var errs []error
	for _, n := range names {
		path := filepath.Join("/proc/sys", strings.ReplaceAll(n, ".", "/"))
		if err := os.WriteFile(path, []byte(string(m[n])+"\n"), 0); err != nil {
			errs = append(errs, fmt.Errorf("guest: sysctl %s = %s: %w", n, m[n], err))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("guest: sysctl %s: %w", n, err))
			continue
		}
		read[n] = strings.Join(strings.Fields(string(b)), " ")
	}
	return read, errors.Join(errs...)
}

// kernelClock reads the kernel log's clock now: it writes a marker line to
// /dev/kmsg and reads its timestamp back; failing that, CLOCK_MONOTONIC,
// which the kernel log's clock follows closely.
func kernelClock() RunStart {
	if us, ok := kmsgClock(); ok {
		return RunStart{KernelUS: us, Source: "kmsg"}
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return RunStart{KernelUS: ts.Nano() / 1000, Source: "monotonic"}
}

const kmsgMarker = "nobufs: load starts"

func kmsgClock() (int64, bool) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	// From the end of the log: only what is written after this.
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		return 0, false
	}
	if _, err := unix.Write(fd, []byte(kmsgMarker+"\n")); err != nil {
		return 0, false
	}
	buf := make([]byte, 8192)
	for range 1000 {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return 0, false
		}
		head, text, ok := bytes.Cut(buf[:n], []byte{';'})
		if !ok || !bytes.HasPrefix(text, []byte(kmsgMarker)) {
			continue
		}
		f := strings.Split(string(head), ",")
		if len(f) < 3 {
			return 0, false
		}
		us, err := strconv.ParseInt(f[2], 10, 64)
		return us, err == nil
	}
	return 0, false
}
