package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Run boots one guest and returns when qemu is gone. The results channel
// (the guest's second serial port) is read as it arrives: each record is
// handed to cfg.OnRecord, the facts and done payloads are kept, gaps are
// counted. The console (the first port) is written to Dir/console.log and
// watched for a kernel panic or an out-of-memory guest.
//
// qemu is stopped by its PID — SIGTERM, then SIGKILL after cfg.Grace — when
// no record arrives within cfg.BootTimeout (ErrBootTimeout), when the done
// record does not come within cfg.RunTimeout (ErrRunTimeout), when ctx ends
// (ctx.Err()), and when the guest said done but does not end within
// cfg.ExitTimeout. qemu also gets SIGKILL if the calling process dies
// (PR_SET_PDEATHSIG). When Run returns, qemu has been waited for: no qemu
// process is left. How the guest died (panic, OOM) is in the Result, not the
// error: it can be the finding of the run.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("vm: %w", err)
	}
	for _, p := range []string{cfg.Kernel, cfg.Initrd} {
		if _, err := os.Stat(p); err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if st, err := os.Stat(cfg.Dir); err != nil || !st.IsDir() {
		return Result{}, fmt.Errorf("%w: output directory %s is not a directory", ErrConfig, cfg.Dir)
	}
	qemu, err := exec.LookPath(cfg.QEMU)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrQEMU, err)
	}
	accel := cfg.Accel
	if accel == "" {
		accel = "tcg"
		if KVMUsable() {
			accel = "kvm"
		}
	}

	// The sockets live in a short private directory (sun_path is 108 bytes).
	sockDir, err := os.MkdirTemp("", "nbvm-")
	if err != nil {
		return Result{}, fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(sockDir)
	conSock, resSock := filepath.Join(sockDir, "con"), filepath.Join(sockDir, "res")
	conL, err := net.ListenUnix("unix", &net.UnixAddr{Name: conSock, Net: "unix"})
	if err != nil {
		return Result{}, fmt.Errorf("vm: %w", err)
	}
	defer conL.Close()
	resL, err := net.ListenUnix("unix", &net.UnixAddr{Name: resSock, Net: "unix"})
	if err != nil {
		return Result{}, fmt.Errorf("vm: %w", err)
	}
	defer resL.Close()

	res := Result{
		Accel:   accel,
		Console: filepath.Join(cfg.Dir, "console.log"),
		QEMULog: filepath.Join(cfg.Dir, "qemu.log"),
	}
	res.Args = append([]string{qemu}, cfg.qemuArgs(accel, conSock, resSock)...)
	conLog, err := os.Create(res.Console)
	if err != nil {
		return res, fmt.Errorf("vm: %w", err)
	}
	defer conLog.Close()
	qlog, err := os.Create(res.QEMULog)
	if err != nil {
		return res, fmt.Errorf("vm: %w", err)
	}
	defer qlog.Close()

	p, err := startQEMU(res.Args, qlog)
	if err != nil {
		return res, err
	}
	res.PID = p.pid
	start := p.start
	fails := &failures{start: start}

	// Whatever happens below (a panic in OnRecord included), qemu does not
	// outlive Run, and neither do the goroutines.
	var wg sync.WaitGroup
	quit := make(chan struct{})
	defer func() {
		close(quit)
		p.kill()
		wg.Wait()
	}()
	// A listener is closed as soon as qemu is gone: a qemu that died before
	// connecting must not leave Accept blocked.
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-p.exited
		conL.Close()
		resL.Close()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		readConsole(conL, conLog, fails)
	}()
	records := make(chan Record, 64)
	var stats ReadStats
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(records)
		stats = readResults(resL, records, quit)
	}()

	var (
		bootTimer   = time.NewTimer(cfg.BootTimeout)
		runC, exitC <-chan time.Time
		graceC      <-chan time.Time
		exited      = p.exited
		recs        = (<-chan Record)(records)
		firstAt     time.Time
		endAt       time.Time // done, or the decision to stop
		runErr      error
	)
	defer bootTimer.Stop()
	stop := func(reason string, err error) {
		if res.Exit.Reason != "" {
			return
		}
		res.Exit.Reason = reason
		if runErr == nil {
			runErr = err
		}
		if endAt.IsZero() {
			endAt = time.Now()
		}
		p.signal(syscall.SIGTERM)
		graceC = time.After(cfg.Grace)
	}
	ctxDone := ctx.Done()
	for exited != nil || recs != nil {
		select {
		case rec, ok := <-recs:
			if !ok {
				recs = nil
				continue
			}
			now := time.Now()
			if firstAt.IsZero() {
				firstAt = now
				bootTimer.Stop()
				runC = time.After(cfg.RunTimeout)
			}
			res.Records++
			switch rec.Type {
			case TypeFacts:
				var f Facts
				if res.Facts == nil && rec.Decode(&f) == nil {
					res.Facts = &f
				}
			case TypeEvent:
				var ev Event
				if rec.Decode(&ev) == nil && ev.Kind == EventOOM {
					fails.add(GuestOOM, ev.Text)
				}
			case TypeDone:
				var d Done
				if res.Done == nil && rec.Decode(&d) == nil {
					res.Done = &d
					if endAt.IsZero() {
						endAt = now
					}
					runC = nil
					exitC = time.After(cfg.ExitTimeout)
				}
			}
			if cfg.OnRecord != nil {
				cfg.OnRecord(rec)
			}
		case <-bootTimer.C:
			stop(ReasonBootTimeout, fmt.Errorf("%w (%v)", ErrBootTimeout, cfg.BootTimeout))
		case <-runC:
			runC = nil
			stop(ReasonRunTimeout, fmt.Errorf("%w (%v)", ErrRunTimeout, cfg.RunTimeout))
		case <-exitC:
			exitC = nil
			stop(ReasonNoExit, nil)
		case <-ctxDone:
			ctxDone = nil
			stop(ReasonCanceled, fmt.Errorf("vm: %w", ctx.Err()))
		case <-graceC:
			graceC = nil
			res.Exit.Forced = true
			p.signal(syscall.SIGKILL)
		case <-exited:
			exited = nil
			bootTimer.Stop()
			runC, exitC, graceC = nil, nil, nil
		}
	}
	wg.Wait()
	end := p.exitAt
	res.Stream = stats
	res.Total = end.Sub(start)
	if !firstAt.IsZero() {
		res.BootTime = firstAt.Sub(start)
		if endAt.IsZero() {
			endAt = end
		}
		res.RunTime = endAt.Sub(firstAt)
	}
	if !endAt.IsZero() {
		res.TeardownTime = end.Sub(endAt)
	}
	st := p.state
	res.Exit.Code = st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Exit.Signal = ws.Signal().String()
	}
	switch {
	case res.Exit.Reason != "":
		res.Exit.Kind = ExitKilled
	case st.Success():
		res.Exit.Kind = ExitGuest
	default:
		res.Exit.Kind = ExitError
		runErr = fmt.Errorf("%w: %v: %s", ErrQEMU, st, tail(res.QEMULog, 1000))
	}
	res.Failures = fails.snapshot()
	if res.Exit.Kind == ExitGuest && res.Done == nil && !res.Failed(GuestPanic) {
		res.Failures = append(res.Failures, Failure{Class: GuestReset, Line: "qemu ended before the done record", Count: 1, At: res.Total})
	}
	return res, runErr
}

// qemuProc is a started qemu and its waiter.
type qemuProc struct {
	pid    int
	proc   *os.Process
	start  time.Time
	exited chan struct{} // closed once qemu has been waited for
	exitAt time.Time
	state  *os.ProcessState
}

// startQEMU starts qemu in its own process group (a Ctrl-C on the terminal
// reaches nobufs, which then stops qemu itself) with SIGKILL as its
// parent-death signal. The death signal follows the thread that forked, so
// that thread stays locked to a goroutine that lives until qemu is reaped.
func startQEMU(args []string, log *os.File) (*qemuProc, error) {
	p := &qemuProc{exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		p.start = time.Now()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("%w: %w", ErrQEMU, err)
			return
		}
		p.pid, p.proc = cmd.Process.Pid, cmd.Process
		started <- nil
		cmd.Wait() // the state is in cmd.ProcessState
		p.exitAt, p.state = time.Now(), cmd.ProcessState
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// signal sends sig to qemu unless it has been reaped (its PID may then be
// someone else's).
func (p *qemuProc) signal(sig syscall.Signal) {
	select {
	case <-p.exited:
	default:
		p.proc.Signal(sig)
	}
}

// kill ends qemu if it is still running and waits until it is reaped.
func (p *qemuProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.signal(syscall.SIGKILL)
	<-p.exited
}

// readConsole accepts qemu's console connection, copies it to log and
// classifies its lines.
func readConsole(l *net.UnixListener, log io.Writer, fails *failures) {
	conn, err := l.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	br := bufio.NewReaderSize(io.TeeReader(conn, log), 64<<10)
	var clean []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			clean = Clean(clean[:0], line)
			fails.console(clean)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// readResults accepts qemu's results connection and sends its records until
// the connection ends or quit is closed.
func readResults(l *net.UnixListener, out chan<- Record, quit <-chan struct{}) ReadStats {
	conn, err := l.Accept()
	if err != nil {
		return ReadStats{}
	}
	defer conn.Close()
	r := NewReader(conn)
	for {
		rec, err := r.Next()
		if err != nil {
			return r.Stats()
		}
		select {
		case out <- rec:
		case <-quit:
			return r.Stats()
		}
	}
}

// KVMUsable tells whether qemu can use KVM here: /dev/kvm opens read-write,
// speaks API version 12, and the CPU has hardware virtualization (vmx or
// svm). The last check matters: a kernel may offer /dev/kvm without it (this
// lab's kvm-pvm), and qemu's guests then hang.
func KVMUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	const kvmGetAPIVersion = 0xae00
	v, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), kvmGetAPIVersion, 0)
	if errno != 0 || v != 12 {
		return false
	}
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			for _, fl := range strings.Fields(v) {
				if fl == "vmx" || fl == "svm" {
					return true
				}
			}
			return false
		}
	}
	return false
}

// tail returns the last n bytes of a file, for error messages.
func tail(name string, n int64) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return strings.TrimSpace(string(b))
}
