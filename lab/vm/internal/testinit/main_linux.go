// Command testinit is the /init of lab/vm's boot tests and benchmarks: a
// static program that uses lab/vm/guest and does what NBTEST (a word of the
// kernel command line, which the kernel hands to /init as its environment)
// asks:
//
//	basic     a few lines, the scenario file, a loopback connect, a
//	          "TCP: out of memory" line written into the kernel log, done
//	panic     two lines, then a kernel panic (sysrq c)
//	oom       a line, then touches memory until the kernel runs out
//	connects  loopback connect+close for NBTEST_SECS seconds, one "connects" record
//	idle      a "tick N" line every NBTEST_TICK (default 1s), for at most 10 minutes
//	silent    no record at all, for at most 10 minutes
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nobufs/nobufs/lab/vm/guest"
)

// ScenarioPath is where the tests put an extra file into the image.
const ScenarioPath = "/etc/nobufs/scenario.yaml"

func main() {
	mode := os.Getenv("NBTEST")
	if mode == "silent" {
		time.Sleep(10 * time.Minute)
		os.Exit(1)
	}
	guest.Main(guest.Options{}, func(s *guest.Session) error {
		switch mode {
		case "basic":
			return basic(s)
		case "panic":
			s.Line("before 1")
			s.Line("before 2")
			// On the host's side before the panic, however slow the
			// emulated UART is on a loaded machine.
			if err := s.Drain(); err != nil {
				return err
			}
			return os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0)
		case "oom":
			return oom(s)
		case "connects":
			return connects(s)
		case "idle":
			return idle(s)
		default:
			return fmt.Errorf("testinit: NBTEST=%q: unknown mode", mode)
		}
	})
}

func basic(s *guest.Session) error {
	for i := 1; i <= 3; i++ {
		if err := s.Line(fmt.Sprintf("hello %d", i)); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(ScenarioPath)
	if err != nil {
		return err
	}
	if err := s.Send("scenario", string(b)); err != nil {
		return err
	}
	n, err := connectLoop(20, 10*time.Second)
	if err != nil {
		return err
	}
	if err := s.Line(fmt.Sprintf("loopback connects %d", n)); err != nil {
		return err
	}
	// The kernel log watcher must report it (as a tcp-oom event) before
	// done: Finish reads the log one last time.
	return os.WriteFile("/dev/kmsg", []byte(KmsgProbe+"\n"), 0)
}

// KmsgProbe is the line basic writes into the kernel log.
const KmsgProbe = "nobufs-test: TCP: out of memory -- consider tuning tcp_mem"

// oom touches memory 1 MiB at a time until the kernel gives up (at most 4 GiB,
// a bound no test guest reaches).
func oom(s *guest.Session) error {
	s.Line("before oom")
	if err := s.Drain(); err != nil {
		return err
	}
	var keep [][]byte
	for i := 0; i < 4096; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	return fmt.Errorf("testinit: %d MiB touched and no OOM", len(keep))
}

func connects(s *guest.Session) error {
	secs := 3.0
	if v, err := strconv.ParseFloat(os.Getenv("NBTEST_SECS"), 64); err == nil && v > 0 {
		secs = v
	}
	d := time.Duration(secs * float64(time.Second))
	start := time.Now()
	n, err := connectLoop(10_000_000, d)
	el := time.Since(start).Seconds()
	rec := map[string]any{"connects": n, "seconds": el, "per_second": float64(n) / el}
	if err != nil {
		rec["error"] = err.Error()
	}
	return s.Send("connects", rec)
}

// connectLoop connects to a loopback listener and closes, up to max times or
// for d, and returns how many connects succeeded.
func connectLoop(max int, d time.Duration) (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer func() { l.Close(); <-accepted }()
	deadline := time.Now().Add(d)
	n := 0
	for n < max && time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp4", l.Addr().String(), time.Second)
		if err != nil {
			return n, err
		}
		c.Close()
		n++
	}
	if n == 0 {
		return 0, errors.New("testinit: no connect in time")
	}
	return n, nil
}

func idle(s *guest.Session) error {
	tick := time.Second
	if v, err := time.ParseDuration(os.Getenv("NBTEST_TICK")); err == nil && v > 0 {
		tick = v
	}
	deadline := time.Now().Add(10 * time.Minute)
	for i := 1; time.Now().Before(deadline); i++ {
		time.Sleep(tick)
		if err := s.Line(fmt.Sprintf("tick %d", i)); err != nil {
			return err
		}
	}
	return nil
}
