package sut

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var errStopped = errors.New("sut: stopped while waiting")

// forceAfterStart makes Start set RLIMIT_NOFILE after exec instead of at
// the exec stop (tests measure the race it has).
var forceAfterStart bool

// killWait bounds the wait for a process after SIGKILL.
const killWait = 10 * time.Second

// NoFile methods, see Info.NoFileMethod.
const (
	NoFileExecStop   = "exec-stop"
	NoFileAfterStart = "after-start"
)

type started struct {
	pid          int
	startTime    uint64
	method       string
	pidNamespace bool
	canRaise     bool
	err          error
}

// Start launches the program of spec and waits until it is ready: until
// it listens on its ReadyAddr (see Spec.ReadyAddr), it ends (an *ExitError with its
// status and last output lines), or ReadyTimeout passes (ErrNotReady). With
// netnsPath (e.g. /run/netns/NAME) the program runs in that network
// namespace and readiness is checked from inside it.
//
// The program runs in its own process group; it gets SIGKILL if nobufs
// dies (Pdeathsig on the thread that started it, which stays locked as
// long as the program runs; it joins the namespace only for the fork). As root it is the first process of its own PID
// namespace, so that its end ends all its descendants. RLIMIT_NOFILE
// (spec.NoFile) is set while it is stopped at its first instruction
// (PTRACE_TRACEME, stop at exec, prlimit, detach): the program sees it from
// its start; nobufs's own limit is untouched. Its PID and start time are
// written to RecordFile in RunDir for Reap.
//
// When ctx ends, the program is stopped (Stop with spec.StopGrace). On any
// error nothing is left running.
func Start(ctx context.Context, spec Spec, netnsPath string) (*Proc, error) {
	r, err := spec.resolve()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sut: %w", err)
	}
	bin, err := exec.LookPath(r.argv[0])
	if err != nil {
		return nil, fmt.Errorf("sut: %w", err)
	}
	if err := r.writeFiles(); err != nil {
		return nil, err
	}
	info := Info{Argv: r.argv, Addr: spec.Addr, ReadyAddr: r.readyAddr, Netns: netnsPath,
		NoFile: spec.NoFile, RunDir: spec.RunDir, Stdout: r.stdout, Stderr: r.stderr}
	if len(r.versionArgv) > 0 {
		v, err := Version(ctx, r.versionArgv)
		if err != nil {
			return nil, err
		}
		info.Version = v
	}

	p := &Proc{exited: make(chan struct{}), tail: &tail{n: r.tailLines},
		stopReq: make(chan time.Duration), finished: make(chan struct{})}
	var files []*os.File // capture files and pipe ends, closed on failure
	fail := func(err error) (*Proc, error) {
		for _, f := range files {
			_ = f.Close()
		}
		return nil, err
	}
	outFile, err := os.Create(r.stdout)
	if err != nil {
		return fail(fmt.Errorf("sut: %w", err))
	}
	files = append(files, outFile)
	errFile, err := os.Create(r.stderr)
	if err != nil {
		return fail(fmt.Errorf("sut: %w", err))
	}
	files = append(files, errFile)
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("sut: %w", err))
	}
	files = append(files, outR, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("sut: %w", err))
	}
	files = append(files, errR, errW)

	closeOnExecOnce.Do(closeOnExecInherited)
	env := append(os.Environ(), r.env...)
	res := make(chan started, 1)
	go p.own(bin, r, env, outW, errW, spec.NoFile, netnsPath, !spec.SharePIDNamespace, res)
	s := <-res // own has closed outW and errW
	files = []*os.File{outFile, errFile, outR, errR}
	if s.err != nil {
		return fail(s.err)
	}
	info.PID, info.StartTime, info.NoFileMethod, info.PIDNamespace = s.pid, s.startTime, s.method, s.pidNamespace
	info.CanRaiseNoFile = s.canRaise
	info.Started = time.Now()
	p.info = info
	p.pipes = []*os.File{outR, errR}
	p.readers.Add(2)
	go p.capture("stdout", outR, outFile, spec.OnLine)
	go p.capture("stderr", errR, errFile, spec.OnLine)
	recErr := writeRecord(spec.RunDir, record{PID: s.pid, StartTime: s.startTime, PIDNamespace: s.pidNamespace, Argv: r.argv})
	go p.supervise(ctx, r.grace)
	if recErr != nil {
		return nil, errors.Join(recErr, p.Stop(0))
	}

	if r.readyAddr != "" {
		if err := p.waitReady(ctx, netnsPath, r.readyAddr, r.readyConnect, r.readyTimeout); err != nil {
			var ee *ExitError
			if errors.As(err, &ee) {
				_ = p.Stop(0) // reaped already; wait for the output, remove the record
				ee.Tail = p.Tail()
				return nil, ee
			}
			return nil, errors.Join(err, p.Stop(r.grace))
		}
	}
	p.info.Ready = time.Since(p.info.Started)
	return p, nil
}

// waitReady waits for addr to accept, for the process to end, or for ctx.
func (p *Proc) waitReady(ctx context.Context, netnsPath, addr string, connect bool, timeout time.Duration) error {
	stop := make(chan struct{})
	res := make(chan error, 1)
	if connect {
		go func() { res <- waitAccepting(netnsPath, addr, timeout, stop) }()
	} else {
		go func() { res <- waitListening(netnsPath, addr, p.info.PID, timeout, stop) }()
	}
	select {
	case err := <-res:
		return err
	case <-p.exited:
		close(stop)
		<-res
		return &ExitError{Argv: p.info.Argv, Status: p.status}
	case <-ctx.Done():
		close(stop)
		<-res
		return fmt.Errorf("sut: waiting for %s: %w", addr, ctx.Err())
	}
}

// own starts the program from a locked thread (in the namespace, when
// there is one, for the fork only), reports the start on res, then waits
// for the program's end. The thread stays locked while the program runs:
// it is the parent Pdeathsig watches, and ptrace requests must come from
// it. It is back in its own network namespace right after the fork.
func (p *Proc) own(bin string, r *resolved, env []string, outW, errW *os.File, nofile uint64, netnsPath string, pidns bool, res chan<- started) {
	runtime.LockOSThread()
	restored := true
	defer func() {
		if restored {
			runtime.UnlockOSThread()
		} // else the goroutine ends locked and takes the thread with it
	}()
	var canRaise bool
	if nofile > 0 {
		// The thread's capability sets change for good: discard it at the end.
		restored = false
		canRaise = !dropSysResource()
	}
	restore := func() error { return nil }
	if netnsPath != "" {
		var err error
		if restore, err = enterNetns(netnsPath); err != nil {
			outW.Close()
			errW.Close()
			res <- started{err: err}
			return
		}
	}
	start := func(ptrace, newpid bool) (*exec.Cmd, error) {
		cmd := &exec.Cmd{Path: bin, Args: r.argv, Env: env, Dir: r.dir, Stdout: outW, Stderr: errW,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Ptrace: ptrace}}
		if newpid {
			cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
		}
		return cmd, cmd.Start()
	}
	ptrace := nofile > 0 && !forceAfterStart
	cmd, err := start(ptrace, pidns)
	if pidns && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)) {
		pidns = false // not privileged: share nobufs's PID namespace
		cmd, err = start(ptrace, false)
	}
	method := ""
	if nofile > 0 && !ptrace {
		method = NoFileAfterStart
	}
	if ptrace {
		method = NoFileExecStop
		if errors.Is(err, syscall.EPERM) {
			// PTRACE_TRACEME refused (seccomp, Yama): set the limit after
			// exec instead, racing the program's own start-up.
			ptrace, method = false, NoFileAfterStart
			cmd, err = start(false, pidns)
		}
	}
	if rerr := restore(); rerr != nil {
		restored = false
		nofile = 0 // not applied: the start fails
		if err == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			err = rerr
		}
	}
	outW.Close()
	errW.Close()
	if err != nil {
		res <- started{err: fmt.Errorf("sut: start %s: %w", r.argv[0], err)}
		return
	}
	pid := cmd.Process.Pid
	if nofile > 0 {
		if err := applyNoFile(pid, nofile, ptrace); err != nil {
			_ = cmd.Process.Kill()
			if ptrace {
				_ = syscall.PtraceDetach(pid)
			}
			_ = cmd.Wait()
			res <- started{err: err}
			return
		}
	}
	st, err := readStat(pid)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		res <- started{err: fmt.Errorf("sut: %w", err)}
		return
	}
	p.cmd = cmd
	res <- started{pid: pid, startTime: st.start, method: method, pidNamespace: pidns, canRaise: canRaise}
	_ = cmd.Wait()
	p.status = exitStatusOf(cmd.ProcessState)
	close(p.exited)
}

// dropSysResource removes CAP_SYS_RESOURCE from the calling, locked
// thread's bounding and inheritable sets, so that a program it starts —
// even as root — cannot raise its hard RLIMIT_NOFILE again (redis asks
// for maxclients+32, haproxy for its maxsock; with the capability both
// would undo the limit). It reports whether the program will lack the
// capability.
func dropSysResource() bool { return dropCapForChildren(unix.CAP_SYS_RESOURCE) }

// dropCapForChildren removes capability c from the calling thread's
// bounding and inheritable sets (the thread's own: capabilities are per
// thread), so that a program the thread execs cannot have it. It reports
// whether c is out of both.
func dropCapForChildren(c int) bool {
	_ = unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	word, bit := c/32, uint32(1)<<(c%32)
	if err := unix.Capget(&hdr, &data[0]); err == nil && data[word].Inheritable&bit != 0 {
		data[word].Inheritable &^= bit
		_ = unix.Capset(&hdr, &data[0])
	}
	// What an exec can get: the bounding set (as root) and the inheritable set.
	inBounding, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	if err != nil {
		return false
	}
	hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return inBounding == 0 && data[word].Inheritable&bit == 0
}

// applyNoFile sets RLIMIT_NOFILE soft = hard = n on pid. With ptrace the
// child is stopped at the SIGTRAP of its exec: the limit is in place before
// the program's first instruction; then the child is let go.
func applyNoFile(pid int, n uint64, ptrace bool) error {
	if ptrace {
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("sut: wait for exec stop: %w", os.NewSyscallError("wait4", err))
			}
			break
		}
		if !ws.Stopped() {
			return fmt.Errorf("sut: child %d not stopped at exec (%v)", pid, ws)
		}
	}
	lim := unix.Rlimit{Cur: n, Max: n}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		return fmt.Errorf("sut: RLIMIT_NOFILE %d: %w", n, os.NewSyscallError("prlimit", err))
	}
	if ptrace {
		if err := syscall.PtraceDetach(pid); err != nil {
			return fmt.Errorf("sut: detach: %w", os.NewSyscallError("ptrace", err))
		}
	}
	return nil
}

var closeOnExecOnce sync.Once

// closeOnExecInherited marks every descriptor ≥ 3 of nobufs close-on-exec.
// Go opens all its own with O_CLOEXEC, but one nobufs inherited without
// it (from a shell or a CI runner) would pass into every program started,
// take one of its RLIMIT_NOFILE slots and skew its descriptor count.
func closeOnExecInherited() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
		}
	}
}

// stop is the stop sequence (run once, by supervise).
func (p *Proc) stop(grace time.Duration) error {
	var errs []error
	desc := descendants(p.info.PID)
	select {
	case <-p.exited:
	default:
		// Process.Signal uses a pidfd: it cannot hit a reused PID.
		term := syscall.Signal(syscall.SIGTERM)
		if p.info.PIDNamespace && !catches(p.info.PID, syscall.SIGTERM) {
			// The first process of a PID namespace ignores signals it has
			// no handler for (haproxy -db relies on SIGTERM's default
			// action): send what that default action would do.
			term = syscall.SIGKILL
		}
		_ = p.cmd.Process.Signal(term)
		if grace > 0 {
			t := time.NewTimer(grace)
			select {
			case <-p.exited:
			case <-t.C:
			}
			t.Stop()
		}
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			t := time.NewTimer(killWait)
			select {
			case <-p.exited:
			case <-t.C:
				errs = append(errs, fmt.Errorf("sut: pid %d still there %v after SIGKILL", p.info.PID, killWait))
			}
			t.Stop()
		}
	}
	if !p.info.PIDNamespace {
		desc = append(desc, groupMembers(p.info.PID, p.info.StartTime)...)
	}
	if err := endAll(desc); err != nil {
		errs = append(errs, err)
	}
	p.waitReaders(2 * time.Second)
	if err := os.Remove(filepath.Join(p.info.RunDir, RecordFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("sut: %w", err))
	}
	return errors.Join(errs...)
}

// catches reports whether pid has a handler for sig (SigCgt of
// /proc/PID/status); false when it cannot be read.
func catches(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

func signalOf(ps *os.ProcessState) (string, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	return unix.SignalName(ws.Signal()), true
}

// procStat is what nobufs reads of /proc/PID/stat.
type procStat struct {
	pid, ppid, pgrp int
	state           byte
	start           uint64 // field 22, clock ticks after boot
	comm            string
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// parseStat reads /proc/PID/stat; comm may hold spaces and parentheses, so
// the fields after it are found from the last ')'.
func parseStat(s string) (procStat, error) {
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return procStat{}, fmt.Errorf("bad /proc stat line %.40q", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("bad /proc stat pid: %w", err)
	}
	f := strings.Fields(s[close+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("bad /proc stat line %.40q", s)
	}
	st := procStat{pid: pid, state: f[0][0], comm: s[open+1 : close]}
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procStat{}, fmt.Errorf("bad /proc stat ppid: %w", err)
	}
	if st.pgrp, err = strconv.Atoi(f[2]); err != nil {
		return procStat{}, fmt.Errorf("bad /proc stat pgrp: %w", err)
	}
	if st.start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("bad /proc stat starttime: %w", err)
	}
	return st, nil
}

// maxTree bounds the processes followed from one PID.
const maxTree = 1024

type procID struct {
	pid   int
	start uint64
}

// children lists the children of every thread of pid.
func children(pid int) []int {
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// descendants returns pid's descendants (not pid), with their start times.
func descendants(pid int) []procID {
	var out []procID
	queue := []int{pid}
	for len(queue) > 0 && len(out) < maxTree {
		for _, c := range children(queue[0]) {
			if st, err := readStat(c); err == nil && len(out) < maxTree {
				out = append(out, procID{c, st.start})
				queue = append(queue, c)
			}
		}
		queue = queue[1:]
	}
	return out
}

// groupMembers returns the processes of process group pgid that started
// no earlier than its leader: descendants that outlived their parent.
func groupMembers(pgid int, leaderStart uint64) []procID {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procID
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.pgrp != pgid || st.start < leaderStart || st.state == 'Z' {
			continue
		}
		out = append(out, procID{pid, st.start})
		if len(out) >= maxTree {
			break
		}
	}
	return out
}

// alive: pid still names the process that started at start, not a zombie.
func (id procID) alive() bool {
	st, err := readStat(id.pid)
	return err == nil && st.start == id.start && st.state != 'Z'
}

// endAll sends SIGKILL to each process still alive (same PID and start
// time) and waits, bounded, until none is.
func endAll(ids []procID) error {
	for _, id := range ids {
		if id.alive() {
			_ = syscall.Kill(id.pid, syscall.SIGKILL)
		}
	}
	deadline := time.Now().Add(killWait)
	for _, id := range ids {
		for id.alive() {
			if time.Now().After(deadline) {
				return fmt.Errorf("sut: descendant %d still there %v after SIGKILL", id.pid, killWait)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// record is RecordFile's content.
type record struct {
	PID          int      `json:"pid"`
	StartTime    uint64   `json:"start_time"`
	PIDNamespace bool     `json:"pid_namespace"`
	Argv         []string `json:"argv"`
}

func writeRecord(runDir string, rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("sut: record: %w", err)
	}
	path := filepath.Join(runDir, RecordFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("sut: record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("sut: record: %w", err)
	}
	return nil
}

// Reap ends a program a previous nobufs started with runDir as its run
// directory and left running (e.g. nobufs was killed with SIGKILL): it
// reads RecordFile and, only if that PID still names the process that
// started at the recorded start time, ends it with SIGKILL, and also ends
// its descendants and process group members that outlived it. It returns
// how many processes it ended; no record, or a record whose process is
// gone, is not an error (0). The record file is removed.
func Reap(runDir string) (int, error) {
	path := filepath.Join(runDir, RecordFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sut: reap: %w", err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 0 {
		return 0, fmt.Errorf("sut: reap: bad record %s: %v", path, err)
	}
	leader := procID{rec.PID, rec.StartTime}
	ids := descendants(rec.PID)
	if !leader.alive() {
		ids = nil // the PID names another process now, or nothing
	}
	ids = append(ids, groupMembers(rec.PID, rec.StartTime)...)
	if leader.alive() {
		ids = append([]procID{leader}, ids...)
	}
	n := 0
	for _, id := range ids {
		if id.alive() {
			n++
		}
	}
	if err := endAll(ids); err != nil {
		return n, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, fmt.Errorf("sut: reap: %w", err)
	}
	return n, nil
}
