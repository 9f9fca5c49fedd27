package doctor

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// readKmsg reads the kernel log buffer from /dev/kmsg without blocking:
// every record still in the ring, at most max. Unprivileged reads fail
// when kernel.dmesg_restrict is 1.
func readKmsg(max int) ([]string, error) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("/dev/kmsg: %w", err)
	}
	defer unix.Close(fd)
	var lines []string
	buf := make([]byte, 8192)
	for len(lines) < max {
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return lines, nil
		case errors.Is(err, unix.EPIPE), errors.Is(err, unix.EINTR):
			continue // a record was overwritten while reading; go on
		case err != nil:
			return lines, fmt.Errorf("/dev/kmsg: %w", err)
		case n == 0:
			return lines, nil
		}
		// "prio,seq,time,flags;message\n continuation…"
		rec := string(buf[:n])
		if _, msg, ok := strings.Cut(rec, ";"); ok {
			rec = msg
		}
		rec, _, _ = strings.Cut(rec, "\n")
		lines = append(lines, rec)
	}
	return lines, nil
}
