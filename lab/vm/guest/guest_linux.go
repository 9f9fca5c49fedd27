package guest

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/lab/vm"
)

// DefaultResults are the devices tried, in order, for the results channel:
// the second serial port (lab/vm.Run gives the guest one; the Debian cloud
// kernel has the 8250 driver built in), the virtio console (a module in that
// kernel, so usually absent), then the console itself, where the records mix
// with kernel lines and the reader picks them out by their NB1 prefix.
var DefaultResults = []string{"/dev/ttyS1", "/dev/hvc0", "/dev/ttyS0"}

// Options tune Start.
type Options struct {
	// Results lists the devices to try for the results channel; nil is
	// DefaultResults.
	Results []string
	// NoKmsg turns off the kernel log watcher (no event records).
	NoKmsg bool
	// KmsgPoll is how often the kernel log is read (default 250 ms).
	KmsgPoll time.Duration
}

// Session is a running guest: the results channel and the kernel log watcher.
type Session struct {
	dev   string
	tty   *os.File
	enc   *vm.Encoder
	facts vm.Facts
	kmsg  *kmsgWatcher

	mu   sync.Mutex
	lost int // records that could not be written
	done bool
}

// Start prepares the guest (mounts, lo up), opens the results channel, sends
// the facts record and starts watching the kernel log. It refuses to run
// unless the process is PID 1.
func Start(opts Options) (*Session, error) {
	if os.Getpid() != 1 {
		return nil, ErrNotInit
	}
	if err := mountAll(); err != nil {
		return nil, err
	}
	loErr := loopbackUp()
	devs := opts.Results
	if devs == nil {
		devs = DefaultResults
	}
	tty, dev, err := openResults(devs)
	if err != nil {
		return nil, err
	}
	s := &Session{dev: dev, tty: tty, enc: vm.NewEncoder(tty)}
	facts, ferr := ReadFacts("/")
	facts.ResultsDevice = dev
	facts.Loopback = loErr == nil
	s.facts = facts
	if err := s.Send(vm.TypeFacts, facts); err != nil {
		tty.Close()
		return nil, err
	}
	for _, e := range []error{loErr, ferr} {
		if e != nil {
			s.Line("guest: " + e.Error())
		}
	}
	if !opts.NoKmsg {
		poll := opts.KmsgPoll
		if poll <= 0 {
			poll = 250 * time.Millisecond
		}
		s.kmsg = startKmsg(s, poll)
	}
	return s, nil
}

// Facts returns the facts sent at Start.
func (s *Session) Facts() vm.Facts { return s.facts }

// Device is the results channel's device.
func (s *Session) Device() string { return s.dev }

// Send writes one record. It is safe for concurrent use. After Finish it
// returns an error and writes nothing.
func (s *Session) Send(typ string, v any) error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return fmt.Errorf("guest: record %s after done", typ)
	}
	s.mu.Unlock()
	if _, err := s.enc.Encode(typ, v); err != nil {
		s.mu.Lock()
		s.lost++
		s.mu.Unlock()
		return err
	}
	return nil
}

// Line sends an opaque timeline line (type "line").
func (s *Session) Line(text string) error { return s.Send(vm.TypeLine, text) }

// Drain waits until the bytes written so far have left the UART (tcdrain):
// a record written just before the guest dies is then on the host's side.
func (s *Session) Drain() error {
	if err := unix.IoctlSetInt(int(s.tty.Fd()), unix.TCSBRK, 1); err != nil {
		return fmt.Errorf("guest: drain %s: %w", s.dev, err)
	}
	return nil
}

// Finish reads the kernel log one last time, sends the done record (with
// runErr's text when not nil), waits for the serial port to drain and syncs.
func (s *Session) Finish(runErr error) error {
	if s.kmsg != nil {
		s.kmsg.stop()
	}
	s.mu.Lock()
	d := vm.Done{OK: runErr == nil, Lost: s.lost}
	s.mu.Unlock()
	if runErr != nil {
		d.Error = runErr.Error()
	}
	err := s.Send(vm.TypeDone, d)
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	// tcdrain: the bytes have left the UART before the guest goes away.
	if derr := unix.IoctlSetInt(int(s.tty.Fd()), unix.TCSBRK, 1); derr != nil && err == nil {
		err = fmt.Errorf("guest: drain %s: %w", s.dev, derr)
	}
	unix.Sync()
	return err
}

// PowerOff ends the guest: a power-off when ACPI is there to do it, else a
// reset (lab/vm.Run starts qemu with -no-reboot, so either ends qemu). It
// returns only on failure, and refuses unless the process is PID 1.
func PowerOff() error {
	if os.Getpid() != 1 {
		return ErrNotInit
	}
	unix.Sync()
	cmd := unix.LINUX_REBOOT_CMD_RESTART
	if _, err := os.Stat("/sys/firmware/acpi"); err == nil {
		cmd = unix.LINUX_REBOOT_CMD_POWER_OFF
	}
	if err := unix.Reboot(cmd); err != nil {
		return fmt.Errorf("guest: reboot: %w", err)
	}
	return errors.New("guest: reboot returned")
}

// Main is the whole of a guest's /init: Start, fn, Finish, PowerOff. A panic
// in fn is reported in the done record. Main does not return: when it cannot
// power off, /init exits, the kernel panics, and panic=-1 ends qemu. Run on a
// host (not PID 1), it exits with status 2.
func Main(opts Options, fn func(*Session) error) {
	s, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nobufs guest:", err)
		if errors.Is(err, ErrNotInit) {
			os.Exit(2)
		}
		PowerOff()
		os.Exit(1)
	}
	runErr := call(fn, s)
	if err := s.Finish(runErr); err != nil {
		fmt.Fprintln(os.Stderr, "nobufs guest:", err)
	}
	if err := PowerOff(); err != nil {
		fmt.Fprintln(os.Stderr, "nobufs guest:", err)
	}
	os.Exit(1)
}

func call(fn func(*Session) error, s *Session) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("guest: panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(s)
}

// mountAll mounts proc, sysfs and devtmpfs (what is already mounted is left
// as it is). Without devtmpfs it makes the device nodes it needs.
func mountAll() error {
	mounts := []struct{ src, dir, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
	}
	var devErr error
	for _, m := range mounts {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("guest: %w", err)
		}
		err := unix.Mount(m.src, m.dir, m.fstype, unix.MS_NOSUID|unix.MS_NOEXEC, "")
		if err != nil && !errors.Is(err, unix.EBUSY) {
			if m.fstype == "devtmpfs" {
				devErr = err
				continue
			}
			return fmt.Errorf("guest: mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	if devErr != nil {
		nodes := []struct {
			path         string
			major, minor uint32
		}{{"/dev/ttyS0", 4, 64}, {"/dev/ttyS1", 4, 65}, {"/dev/hvc0", 229, 0}, {"/dev/kmsg", 1, 11}, {"/dev/null", 1, 3}}
		for _, n := range nodes {
			err := unix.Mknod(n.path, unix.S_IFCHR|0o600, int(unix.Mkdev(n.major, n.minor)))
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("guest: devtmpfs: %w; mknod %s: %w", devErr, n.path, err)
			}
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo (the kernel then gives it 127.0.0.1/8).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("guest: lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("guest: lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("guest: lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("guest: lo up: %w", err)
	}
	return nil
}

// openResults opens the first device of devs that works (an 8250 port with no
// UART behind it fails to open with EIO) and puts it in raw mode — no "\r"
// added, no echo — at 115200 baud, the fastest an 8250 divisor gives: qemu's
// UART sends at the programmed rate, and the default 9600 baud (under
// 1 KB/s) cannot keep up with a timeline sample a second with host state.
func openResults(devs []string) (*os.File, string, error) {
	var errs []error
	for _, d := range devs {
		fd, err := unix.Open(d, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
			continue
		}
		if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
			t.Oflag &^= unix.OPOST
			t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
			t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CBAUD
			t.Cflag |= unix.CS8 | unix.CLOCAL | unix.B115200
			t.Ispeed, t.Ospeed = unix.B115200, unix.B115200
			unix.IoctlSetTermios(fd, unix.TCSETS, t)
		}
		return os.NewFile(uintptr(fd), d), d, nil
	}
	return nil, "", fmt.Errorf("guest: no results channel: %w", errors.Join(errs...))
}

// kmsgWatcher reads /dev/kmsg and sends the lines that matter as events.
type kmsgWatcher struct {
	s    *Session
	fd   int
	quit chan struct{}
	done chan struct{}
	buf  []byte
	dead bool // reading failed for good
}

func startKmsg(s *Session, poll time.Duration) *kmsgWatcher {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		s.Send(vm.TypeEvent, vm.Event{Kind: vm.EventKmsgFailed, Text: err.Error()})
		return nil
	}
	w := &kmsgWatcher{s: s, fd: fd, quit: make(chan struct{}), done: make(chan struct{}), buf: make([]byte, 8192)}
	go func() {
		defer close(w.done)
		defer unix.Close(fd)
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			w.drain()
			select {
			case <-w.quit:
				w.drain()
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// drain reads what the kernel log holds now (at most 100,000 records, so a
// flood cannot keep it here).
func (w *kmsgWatcher) drain() {
	if w.dead {
		return
	}
	for i := 0; i < 100_000; i++ {
		n, err := unix.Read(w.fd, w.buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EPIPE):
			// The ring overwrote records before we read them; the next
			// read goes on from the oldest one left.
			w.s.Send(vm.TypeEvent, vm.Event{Kind: vm.EventKmsgLost})
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			w.dead = true
			w.s.Send(vm.TypeEvent, vm.Event{Kind: vm.EventKmsgFailed, Text: err.Error()})
			return
		}
		rec, ok := parseKmsg(w.buf[:n])
		if !ok {
			continue
		}
		if kind, ok := eventKind(rec.Text); ok {
			w.s.Send(vm.TypeEvent, vm.Event{Kind: kind, Text: rec.Text, KernelUS: rec.US, KmsgSeq: rec.Seq})
		}
	}
}

func (w *kmsgWatcher) stop() {
	close(w.quit)
	<-w.done
}
