package errclass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
)

// native returns the errno the running OS's network stack really reports for
// a condition: the syscall constant on Unix, the WSA number on Windows (where
// syscall.E* are invented values the stack never returns).
func native(unix syscall.Errno, wsa int) syscall.Errno {
	if runtime.GOOS == "windows" {
		return syscall.Errno(wsa)
	}
	return unix
}

// skipOddErrnoArch skips tests that inject syscall.E* constants on Linux
// architectures whose errno numbers differ from the table ClassOf uses.
func skipOddErrnoArch(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	switch runtime.GOARCH {
	case "mips", "mipsle", "mips64", "mips64le", "sparc64":
		t.Skipf("linux/%s errno numbers differ from the generic Linux table", runtime.GOARCH)
	}
}

type classOfCase struct {
	code int
	want Class
	what string // what the row means
}

func runClassOf(t *testing.T, goos string, cases []classOfCase) {
	t.Helper()
	for _, c := range cases {
		if got := ClassOf(goos, c.code); got != c.want {
			t.Errorf("ClassOf(%q, %d) [%s]: got %q, want %q", goos, c.code, c.what, got, c.want)
		}
	}
}

func TestClassOfLinux(t *testing.T) {
	cases := []classOfCase{
		{105, ClassENOBUFS, "ENOBUFS: socket buffers / skbs exhausted"},
		{99, ClassEADDRNOTAVAIL, "EADDRNOTAVAIL: no ephemeral port left for connect"},
		{98, ClassEADDRINUSE, "EADDRINUSE: bind to a port already in use"},
		{24, ClassEMFILE, "EMFILE: per-process fd limit"},
		{23, ClassENFILE, "ENFILE: system-wide file table full"},
		{111, ClassECONNREFUSED, "ECONNREFUSED: RST on SYN, nobody listening"},
		{104, ClassECONNRESET, "ECONNRESET: peer reset an established connection"},
		{103, ClassECONNABORTED, "ECONNABORTED: connection aborted before accept"},
		{110, ClassETIMEDOUT, "ETIMEDOUT: kernel TCP timeout (SYN retries, keepalive)"},
		{113, ClassEHOSTUNREACH, "EHOSTUNREACH: no route to host"},
		{101, ClassENETUNREACH, "ENETUNREACH: network unreachable"},
		{100, ClassENETDOWN, "ENETDOWN: interface down"},
		{32, ClassEPIPE, "EPIPE: write after peer closed"},
		{11, ClassEAGAIN, "EAGAIN/EWOULDBLOCK: would block (also connect with no ports on unix sockets)"},
		{115, ClassEINPROGRESS, "EINPROGRESS: non-blocking connect started"},
		{22, ClassEINVAL, "EINVAL: invalid argument"},
		{13, ClassEACCES, "EACCES: permission denied (e.g. privileged port)"},
		{1, ClassEPERM, "EPERM: operation not permitted (e.g. netfilter drop on send)"},
		{12, ClassENOMEM, "ENOMEM: kernel out of memory"},
		{0, ClassOther, "0 is not an error code"},
		{55, ClassOther, "55 is the BSD ENOBUFS, ENOPROTOOPT on Linux: not classified"},
		{10055, ClassOther, "WSAENOBUFS means nothing on Linux"},
		{200, ClassOther, "unassigned errno"},
		{-1, ClassOther, "negative code"},
	}
	runClassOf(t, "linux", cases)
}

func TestClassOfUnknownGOOSUsesLinuxTable(t *testing.T) {
	for _, goos := range []string{"", "android", "plan9", "no-such-os"} {
		runClassOf(t, goos, []classOfCase{
			{105, ClassENOBUFS, "Linux ENOBUFS via fallback table"},
			{99, ClassEADDRNOTAVAIL, "Linux EADDRNOTAVAIL via fallback table"},
			{55, ClassOther, "BSD ENOBUFS is not in the Linux table"},
			{424242, ClassOther, "unknown code"},
		})
	}
}

func TestClassOfBSD(t *testing.T) {
	cases := []classOfCase{
		{55, ClassENOBUFS, "ENOBUFS"},
		{49, ClassEADDRNOTAVAIL, "EADDRNOTAVAIL: ephemeral ports exhausted"},
		{48, ClassEADDRINUSE, "EADDRINUSE"},
		{24, ClassEMFILE, "EMFILE"},
		{23, ClassENFILE, "ENFILE"},
		{61, ClassECONNREFUSED, "ECONNREFUSED"},
		{54, ClassECONNRESET, "ECONNRESET"},
		{53, ClassECONNABORTED, "ECONNABORTED"},
		{60, ClassETIMEDOUT, "ETIMEDOUT"},
		{65, ClassEHOSTUNREACH, "EHOSTUNREACH"},
		{51, ClassENETUNREACH, "ENETUNREACH"},
		{50, ClassENETDOWN, "ENETDOWN"},
		{32, ClassEPIPE, "EPIPE"},
		{35, ClassEAGAIN, "EAGAIN/EWOULDBLOCK"},
		{36, ClassEINPROGRESS, "EINPROGRESS"},
		{22, ClassEINVAL, "EINVAL"},
		{13, ClassEACCES, "EACCES"},
		{1, ClassEPERM, "EPERM"},
		{12, ClassENOMEM, "ENOMEM"},
		{105, ClassOther, "Linux ENOBUFS number; ENOBUFS is 55 on BSD"},
		{99, ClassOther, "Linux EADDRNOTAVAIL number; 99 is ENOSTR/… on BSD"},
		{11, ClassOther, "Linux EAGAIN number; 11 is EDEADLK on BSD"},
		{0, ClassOther, "0 is not an error code"},
		{9999, ClassOther, "unknown code"},
	}
	for _, goos := range []string{"darwin", "ios", "freebsd", "netbsd", "openbsd", "dragonfly"} {
		runClassOf(t, goos, cases)
	}
}

func TestClassOfWindows(t *testing.T) {
	cases := []classOfCase{
		{10055, ClassENOBUFS, "WSAENOBUFS"},
		{10049, ClassEADDRNOTAVAIL, "WSAEADDRNOTAVAIL: ephemeral ports exhausted"},
		{10048, ClassEADDRINUSE, "WSAEADDRINUSE"},
		{10024, ClassEMFILE, "WSAEMFILE"},
		{10061, ClassECONNREFUSED, "WSAECONNREFUSED"},
		{10054, ClassECONNRESET, "WSAECONNRESET"},
		{10053, ClassECONNABORTED, "WSAECONNABORTED"},
		{10060, ClassETIMEDOUT, "WSAETIMEDOUT"},
		{10065, ClassEHOSTUNREACH, "WSAEHOSTUNREACH"},
		{10051, ClassENETUNREACH, "WSAENETUNREACH"},
		{10050, ClassENETDOWN, "WSAENETDOWN"},
		{10058, ClassEPIPE, "WSAESHUTDOWN: send after shutdown, the EPIPE of Winsock"},
		{10035, ClassEAGAIN, "WSAEWOULDBLOCK"},
		{10036, ClassEINPROGRESS, "WSAEINPROGRESS"},
		{10022, ClassEINVAL, "WSAEINVAL"},
		{10013, ClassEACCES, "WSAEACCES"},
		{64, ClassECONNRESET, "ERROR_NETNAME_DELETED: Go reports it for resets on overlapped I/O"},
		{1236, ClassECONNABORTED, "ERROR_CONNECTION_ABORTED"},
		{1225, ClassECONNREFUSED, "ERROR_CONNECTION_REFUSED"},
		{121, ClassETIMEDOUT, "ERROR_SEM_TIMEOUT"},
		{8, ClassENOMEM, "ERROR_NOT_ENOUGH_MEMORY"},
		{14, ClassENOMEM, "ERROR_OUTOFMEMORY"},
		{10101, ClassOther, "WSAEDISCON: graceful shutdown, not classified"},
		{10004, ClassOther, "WSAEINTR: not classified"},
		{105, ClassOther, "Linux ENOBUFS number means nothing on Windows"},
		{24, ClassOther, "Unix EMFILE number; 24 is ERROR_BAD_LENGTH on Windows"},
		{0, ClassOther, "0 is not an error code"},
		{99999, ClassOther, "unknown code"},
	}
	runClassOf(t, "windows", cases)
}

// TestClassOfTablesOnlyKnownClasses checks that every table value is a
// declared Class, and that no table maps to the code-less classes.
func TestClassOfTablesOnlyKnownClasses(t *testing.T) {
	for name, tab := range map[string]map[int]Class{"linux": linuxClasses, "bsd": bsdClasses, "windows": windowsClasses} {
		for code, c := range tab {
			if !ValidClass(string(c)) {
				t.Errorf("%s table: code %d: got class %q, want a declared Class", name, code, c)
			}
			switch c {
			case ClassDeadline, ClassEOF, ClassCanceled, ClassOther:
				t.Errorf("%s table: code %d: got %q, want an E* class", name, code, c)
			}
		}
	}
}

func TestClassifyInjected(t *testing.T) {
	skipOddErrnoArch(t)
	enobufs := native(syscall.ENOBUFS, 10055)
	emfile := native(syscall.EMFILE, 10024)
	eaddrinuse := native(syscall.EADDRINUSE, 10048)
	econnreset := native(syscall.ECONNRESET, 10054)
	epipe := native(syscall.EPIPE, 10058)

	cases := []struct {
		what     string // what the row means
		err      error
		fallback Phase
		want     ErrorKey
	}{
		{
			"nil error is the zero key",
			nil, PhaseConnect,
			ErrorKey{},
		},
		{
			"dial OpError around connect SyscallError: phase from Syscall, not from Op",
			&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", enobufs)}, PhaseOther,
			ErrorKey{PhaseConnect, ClassENOBUFS, int(enobufs)},
		},
		{
			"fmt-wrapped accept4 EMFILE: accept phase even though the caller said other",
			fmt.Errorf("x: %w", os.NewSyscallError("accept4", emfile)), PhaseOther,
			ErrorKey{PhaseAccept, ClassEMFILE, int(emfile)},
		},
		{
			"bare errno without SyscallError keeps the fallback phase",
			enobufs, PhaseSend,
			ErrorKey{PhaseSend, ClassENOBUFS, int(enobufs)},
		},
		{
			"errno not in the table: other, raw code kept",
			os.NewSyscallError("connect", syscall.Errno(200)), PhaseConnect,
			ErrorKey{PhaseConnect, ClassOther, 200},
		},
		{
			"message-only error: other with code 0, its text is never read",
			errors.New("no buffer space available"), PhaseConnect,
			ErrorKey{PhaseConnect, ClassOther, 0},
		},
		{
			"io.EOF from a read: peer closed",
			io.EOF, PhaseRecv,
			ErrorKey{PhaseRecv, ClassEOF, 0},
		},
		{
			"wrapped io.ErrUnexpectedEOF: peer closed mid-message",
			fmt.Errorf("reading header: %w", io.ErrUnexpectedEOF), PhaseRecv,
			ErrorKey{PhaseRecv, ClassEOF, 0},
		},
		{
			"context.Canceled: our own shutdown",
			context.Canceled, PhaseConnect,
			ErrorKey{PhaseConnect, ClassCanceled, 0},
		},
		{
			"net.ErrClosed inside an OpError: we closed the socket under a read",
			&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, PhaseRecv,
			ErrorKey{PhaseRecv, ClassCanceled, 0},
		},
		{
			"os.ErrDeadlineExceeded inside an OpError: our read deadline",
			&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, PhaseRecv,
			ErrorKey{PhaseRecv, ClassDeadline, 0},
		},
		{
			"context.DeadlineExceeded: our dial/run deadline",
			fmt.Errorf("dial: %w", context.DeadlineExceeded), PhaseConnect,
			ErrorKey{PhaseConnect, ClassDeadline, 0},
		},
		{
			"custom net.Error with Timeout() true and no errno",
			&net.OpError{Op: "write", Err: timeoutOnly{}}, PhaseSend,
			ErrorKey{PhaseSend, ClassDeadline, 0},
		},
		{
			"errno wins over Timeout(): kernel ETIMEDOUT is not our deadline",
			&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", native(syscall.ETIMEDOUT, 10060))}, PhaseConnect,
			ErrorKey{PhaseConnect, ClassETIMEDOUT, int(native(syscall.ETIMEDOUT, 10060))},
		},
		{
			"errors.Join: the bind SyscallError inside the join is found",
			errors.Join(errors.New("cleanup failed"), os.NewSyscallError("bind", eaddrinuse)), PhaseSocket,
			ErrorKey{PhaseBind, ClassEADDRINUSE, int(eaddrinuse)},
		},
		{
			"read SyscallError: recv phase",
			&net.OpError{Op: "read", Err: os.NewSyscallError("read", econnreset)}, PhaseOther,
			ErrorKey{PhaseRecv, ClassECONNRESET, int(econnreset)},
		},
		{
			"writev SyscallError: send phase",
			&net.OpError{Op: "write", Err: os.NewSyscallError("writev", epipe)}, PhaseOther,
			ErrorKey{PhaseSend, ClassEPIPE, int(epipe)},
		},
		{
			"unknown Syscall name keeps the fallback phase",
			os.NewSyscallError("ioctl", enobufs), PhaseSetsockopt,
			ErrorKey{PhaseSetsockopt, ClassENOBUFS, int(enobufs)},
		},
		{
			"SyscallError around a non-errno: phase refined, class other, code 0",
			os.NewSyscallError("socket", errors.New("weird")), PhaseOther,
			ErrorKey{PhaseSocket, ClassOther, 0},
		},
	}
	for _, c := range cases {
		if got := Classify(c.err, c.fallback); got != c.want {
			t.Errorf("%s: Classify(%v, %q): got %v, want %v", c.what, c.err, c.fallback, got, c.want)
		}
	}
}

// timeoutOnly is a net.Error that times out but carries no errno.
type timeoutOnly struct{}

func (timeoutOnly) Error() string   { return "connection refused" } // deliberately misleading text
func (timeoutOnly) Timeout() bool   { return true }
func (timeoutOnly) Temporary() bool { return true }

// lyingErr says whatever msg says but wraps err.
type lyingErr struct {
	msg string
	err error
}

func (e lyingErr) Error() string { return e.msg }
func (e lyingErr) Unwrap() error { return e.err }

// TestClassifyIgnoresMessageText proves that only values matter: messages
// claiming one condition while wrapping another classify by what they wrap.
func TestClassifyIgnoresMessageText(t *testing.T) {
	skipOddErrnoArch(t)
	enobufs := native(syscall.ENOBUFS, 10055)
	eaddrnotavail := native(syscall.EADDRNOTAVAIL, 10049)
	cases := []struct {
		what string // what the row means
		err  error
		want ErrorKey
	}{
		{
			"says 'connection refused', wraps ENOBUFS: enobufs",
			lyingErr{"connect: connection refused", os.NewSyscallError("connect", enobufs)},
			ErrorKey{PhaseConnect, ClassENOBUFS, int(enobufs)},
		},
		{
			"says 'connection refused', wraps EADDRNOTAVAIL bare: eaddrnotavail, fallback phase",
			lyingErr{"connection refused", eaddrnotavail},
			ErrorKey{PhaseConnect, ClassEADDRNOTAVAIL, int(eaddrnotavail)},
		},
		{
			"plain text 'connection refused': other, code 0",
			errors.New("dial tcp 127.0.0.1:1: connect: connection refused"),
			ErrorKey{PhaseConnect, ClassOther, 0},
		},
		{
			"SyscallError whose Err is text 'connection refused': phase yes, class no",
			os.NewSyscallError("connect", errors.New("connection refused")),
			ErrorKey{PhaseConnect, ClassOther, 0},
		},
		{
			"text 'i/o timeout' without Timeout(): not a deadline",
			&net.OpError{Op: "dial", Err: errors.New("i/o timeout")},
			ErrorKey{PhaseConnect, ClassOther, 0},
		},
		{
			"text 'EOF' that is not io.EOF: not eof",
			errors.New("EOF"),
			ErrorKey{PhaseConnect, ClassOther, 0},
		},
		{
			"text 'operation was canceled' that is not context.Canceled: not canceled",
			errors.New("operation was canceled"),
			ErrorKey{PhaseConnect, ClassOther, 0},
		},
		{
			"says 'connection refused', is a timeout: deadline",
			timeoutOnly{},
			ErrorKey{PhaseConnect, ClassDeadline, 0},
		},
	}
	for _, c := range cases {
		if got := Classify(c.err, PhaseConnect); got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, got, c.want)
		}
	}
}

// closedLoopbackAddr returns a 127.0.0.1 address nobody listens on.
func closedLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

// TestClassifyRealDial classifies errors produced by the real net stack.
func TestClassifyRealDial(t *testing.T) {
	skipOddErrnoArch(t)
	ctx := context.Background()

	t.Run("ControlContext error", func(t *testing.T) {
		// What Go does: the Control error is returned unchanged inside a
		// *net.OpError{Op: "dial"}, so our SyscallError("connect") — and
		// with it the connect phase — survives.
		eaddrnotavail := native(syscall.EADDRNOTAVAIL, 10049)
		d := net.Dialer{ControlContext: func(context.Context, string, string, syscall.RawConn) error {
			return os.NewSyscallError("connect", eaddrnotavail)
		}}
		c, err := d.DialContext(ctx, "tcp", "127.0.0.1:1")
		if err == nil {
			c.Close()
			t.Fatal("dial: got nil error, want the Control error")
		}
		want := ErrorKey{PhaseConnect, ClassEADDRNOTAVAIL, int(eaddrnotavail)}
		if got := Classify(err, PhaseOther); got != want {
			t.Errorf("Classify(%v): got %v, want %v", err, got, want)
		}
	})

	t.Run("ControlContext bare errno", func(t *testing.T) {
		// A bare errno from Control has no Syscall name: fallback phase.
		enobufs := native(syscall.ENOBUFS, 10055)
		d := net.Dialer{ControlContext: func(context.Context, string, string, syscall.RawConn) error {
			return enobufs
		}}
		c, err := d.DialContext(ctx, "tcp", "127.0.0.1:1")
		if err == nil {
			c.Close()
			t.Fatal("dial: got nil error, want the Control error")
		}
		want := ErrorKey{PhaseSocket, ClassENOBUFS, int(enobufs)}
		if got := Classify(err, PhaseSocket); got != want {
			t.Errorf("Classify(%v): got %v, want %v", err, got, want)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		addr := closedLoopbackAddr(t)
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err == nil {
			c.Close()
			t.Skipf("dial %s succeeded: port was reused", addr)
		}
		got := Classify(err, PhaseOther)
		if got.Phase != PhaseConnect || got.Class != ClassECONNREFUSED {
			t.Fatalf("Classify(%v): got %v, want connect/econnrefused", err, got)
		}
		if runtime.GOOS == "linux" && got.Code != 111 {
			t.Errorf("Classify(%v).Code: got %d, want 111", err, got.Code)
		}
		if got.Code == 0 {
			t.Errorf("Classify(%v).Code: got 0, want the raw errno", err)
		}
	})

	t.Run("dialer timeout 1ns", func(t *testing.T) {
		// Go returns *net.OpError{Op: "dial", Err: net.errTimeout}, which is
		// context.DeadlineExceeded (not os.ErrDeadlineExceeded) and Timeout().
		addr := closedLoopbackAddr(t)
		d := net.Dialer{Timeout: time.Nanosecond}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			t.Skip("dial succeeded within 1ns")
		}
		want := ErrorKey{PhaseConnect, ClassDeadline, 0}
		if got := Classify(err, PhaseConnect); got != want {
			t.Errorf("Classify(%v): got %v, want %v", err, got, want)
		}
	})

	t.Run("canceled context", func(t *testing.T) {
		// Go maps context.Canceled to net.errCanceled, which Is context.Canceled.
		addr := closedLoopbackAddr(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		c, err := (&net.Dialer{}).DialContext(cctx, "tcp", addr)
		if err == nil {
			c.Close()
			t.Fatal("dial with canceled context: got nil error")
		}
		want := ErrorKey{PhaseConnect, ClassCanceled, 0}
		if got := Classify(err, PhaseConnect); got != want {
			t.Errorf("Classify(%v): got %v, want %v", err, got, want)
		}
	})
}

// TestClassifyRealConn classifies accept/read errors from real sockets.
func TestClassifyRealConn(t *testing.T) {
	t.Run("accept on closed listener", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		ln.Close()
		c, err := ln.Accept()
		if err == nil {
			c.Close()
			t.Fatal("accept on closed listener: got nil error")
		}
		want := ErrorKey{PhaseAccept, ClassCanceled, 0}
		if got := Classify(err, PhaseAccept); got != want {
			t.Errorf("Classify(%v): got %v, want %v", err, got, want)
		}
	})

	t.Run("read after peer close and deadline", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer client.Close()
		server, ok := <-accepted
		if !ok {
			t.Fatal("accept failed")
		}

		// Our own read deadline expires: deadline.
		server.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err = server.Read(make([]byte, 1))
		if want, got := (ErrorKey{PhaseRecv, ClassDeadline, 0}), Classify(err, PhaseRecv); got != want {
			t.Errorf("read past deadline: Classify(%v): got %v, want %v", err, got, want)
		}

		// The peer closes: io.EOF.
		server.SetReadDeadline(time.Time{})
		client.Close()
		_, err = server.Read(make([]byte, 1))
		if want, got := (ErrorKey{PhaseRecv, ClassEOF, 0}), Classify(err, PhaseRecv); got != want {
			t.Errorf("read after peer close: Classify(%v): got %v, want %v", err, got, want)
		}

		// We close our side, then use it: net.ErrClosed, canceled.
		server.Close()
		_, err = server.Read(make([]byte, 1))
		if want, got := (ErrorKey{PhaseRecv, ClassCanceled, 0}), Classify(err, PhaseRecv); got != want {
			t.Errorf("read on our closed conn: Classify(%v): got %v, want %v", err, got, want)
		}
	})
}

func TestPhaseFromSyscallName(t *testing.T) {
	cases := []struct {
		name string
		want Phase
	}{
		{"socket", PhaseSocket},
		{"bind", PhaseBind},
		{"connect", PhaseConnect},
		{"connectex", PhaseConnect}, // Windows ConnectEx
		{"listen", PhaseListen},
		{"accept", PhaseAccept},
		{"accept4", PhaseAccept},
		{"acceptex", PhaseAccept}, // Windows AcceptEx
		{"write", PhaseSend},
		{"writev", PhaseSend},
		{"sendto", PhaseSend},
		{"sendmsg", PhaseSend},
		{"send", PhaseSend},
		{"wsasend", PhaseSend},
		{"wsasendto", PhaseSend},
		{"wsasendmsg", PhaseSend},
		{"WSASend", PhaseSend}, // case is ignored
		{"read", PhaseRecv},
		{"readv", PhaseRecv},
		{"recvfrom", PhaseRecv},
		{"recvmsg", PhaseRecv},
		{"wsarecv", PhaseRecv},
		{"wsarecvfrom", PhaseRecv},
		{"wsarecvmsg", PhaseRecv},
		{"close", PhaseClose},
		{"shutdown", PhaseClose},
		{"setsockopt", PhaseSetsockopt},
		{"getsockopt", PhaseSetsockopt},
		{"ioctl", PhaseOther},  // unknown: fallback
		{"", PhaseOther},       // empty: fallback
		{"splice", PhaseOther}, // unknown: fallback
	}
	for _, c := range cases {
		// The phase must not depend on the errno, so use a non-errno Err.
		got := Classify(os.NewSyscallError(c.name, errors.New("x")), PhaseOther).Phase
		if got != c.want {
			t.Errorf("Syscall %q: got phase %q, want %q", c.name, got, c.want)
		}
	}
}

func TestClassifyErrorKeyString(t *testing.T) {
	cases := []struct {
		key  ErrorKey
		want string
	}{
		{ErrorKey{PhaseConnect, ClassEADDRNOTAVAIL, 99}, "connect/eaddrnotavail(99)"}, // with code
		{ErrorKey{PhaseSend, ClassENOBUFS, 10055}, "send/enobufs(10055)"},             // Windows code
		{ErrorKey{PhaseRecv, ClassEOF, 0}, "recv/eof"},                                // code 0: no parentheses
		{ErrorKey{PhaseOther, ClassOther, 200}, "other/other(200)"},                   // unknown errno kept
		{ErrorKey{}, "/"}, // zero key
	}
	for _, c := range cases {
		if got := c.key.String(); got != c.want {
			t.Errorf("%#v.String(): got %q, want %q", c.key, got, c.want)
		}
	}
}

func TestClassifyErrorKeyJSON(t *testing.T) {
	k := ErrorKey{PhaseConnect, ClassEADDRNOTAVAIL, 99}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"phase":"connect","class":"eaddrnotavail","code":99}`; got != want {
		t.Errorf("json: got %s, want %s", got, want)
	}
	var back ErrorKey
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != k {
		t.Errorf("round trip: got %v, want %v", back, k)
	}
}

func TestClassifyClassesAndValidClass(t *testing.T) {
	got := Classes()
	if want := 27 + len(SignalClasses()); len(got) != want {
		t.Errorf("len(Classes()): got %d, want %d", len(got), want)
	}
	if got[0] != ClassENOBUFS || got[22] != ClassOther || got[26] != ClassGuestOOM || got[27] != SignalClasses()[0] {
		t.Errorf("Classes() order: got first %q, 23rd %q, 27th %q, 28th %q, want enobufs … other … guest-oom, then the signal classes", got[0], got[22], got[26], got[27])
	}
	seen := map[Class]bool{}
	for _, c := range got {
		if seen[c] {
			t.Errorf("Classes(): %q listed twice", c)
		}
		seen[c] = true
		if !ValidClass(string(c)) {
			t.Errorf("ValidClass(%q): got false, want true", c)
		}
	}
	got[0] = "mutated"
	if Classes()[0] != ClassENOBUFS {
		t.Error("Classes() returned a shared slice: mutation leaked")
	}
	for _, s := range []string{"", "ENOBUFS", "enobuf", "connect", "timeout", "mutated"} {
		if ValidClass(s) {
			t.Errorf("ValidClass(%q): got true, want false", s)
		}
	}
}

func TestClassifyWSAName(t *testing.T) {
	cases := []struct {
		code int
		want string
	}{
		{10055, "WSAENOBUFS"},
		{10049, "WSAEADDRNOTAVAIL"},
		{10035, "WSAEWOULDBLOCK"},
		{10058, "WSAESHUTDOWN"},
		{10101, "WSAEDISCON"}, // named though not classified
		{64, ""},              // Win32 ERROR_NETNAME_DELETED, but also Linux ENONET: no name
		{14, ""},              // Win32 ERROR_OUTOFMEMORY, but also Unix EFAULT: no name
		{1225, ""},            // Win32 ERROR_CONNECTION_REFUSED: outside the WSA range
		{105, ""},             // Linux number: no Windows name
		{0, ""},               // no code
	}
	for _, c := range cases {
		if got := WSAName(c.code); got != c.want {
			t.Errorf("WSAName(%d): got %q, want %q", c.code, got, c.want)
		}
	}
	// Every classified Winsock code has a name to show beside it.
	for code := range windowsClasses {
		if code >= 10000 && WSAName(code) == "" {
			t.Errorf("WSAName(%d): got \"\", want a name for a classified code", code)
		}
	}
	// No Unix errno (all below 10000 on every OS) gets a Windows name.
	for code := 0; code < 10000; code++ {
		if n := WSAName(code); n != "" {
			t.Errorf("WSAName(%d): got %q, want \"\" (collides with Unix errnos)", code, n)
		}
	}
	// No Unix errno (all below 10000 on every OS) gets a Windows name.
	for code := 0; code < 10000; code++ {
		if n := WSAName(code); n != "" {
			t.Errorf("WSAName(%d): got %q, want \"\" (collides with Unix errnos)", code, n)
		}
	}
}

// TestClassesMatchScenarioFormat: the names a scenario may list in
// failure.classes are exactly the classes the classifier produces.
func TestClassesMatchScenarioFormat(t *testing.T) {
	var got []string
	for _, c := range Classes() {
		got = append(got, string(c))
	}
	if strings.Join(got, ",") != strings.Join(scenarios.ErrorClasses, ",") {
		t.Errorf("workers.Classes() = %v\nscenarios.ErrorClasses = %v", got, scenarios.ErrorClasses)
	}
}

// TestErrorsDocListsEveryClass keeps docs/errors.md in step with the classes.
func TestErrorsDocListsEveryClass(t *testing.T) {
	b, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Classes() {
		if !strings.Contains(string(b), "| `"+string(c)+"` |") {
			t.Errorf("docs/errors.md has no row for class %s", c)
		}
	}
	for _, p := range []Phase{PhaseSocket, PhaseBind, PhaseConnect, PhaseListen, PhaseAccept, PhaseSend, PhaseRecv, PhaseClose, PhaseSetsockopt, PhaseOther, PhaseServer, PhaseKernel, PhaseProbe} {
		if !strings.Contains(string(b), "| `"+string(p)+"` |") {
			t.Errorf("docs/errors.md has no row for phase %s", p)
		}
	}
}

// TestReclass: a reclassed error keeps its phase and raw code and takes
// the class it was given; errors.Is still sees what it wraps.
func TestReclass(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.Errno(104))}
	tests := []struct {
		name string
		err  error
		want ErrorKey
	}{
		{"orphan reset keeps phase and code", Reclass(ClassOrphanReset, reset), ErrorKey{PhaseRecv, ClassOrphanReset, 104}},
		{"wrapped further", fmt.Errorf("burst: %w", Reclass(ClassOrphanReset, reset)), ErrorKey{PhaseRecv, ClassOrphanReset, 104}},
		{"no errno: fallback phase, code 0", Reclass(ClassStall, errors.New("no progress")), ErrorKey{PhaseSend, ClassStall, 0}},
		{"not reclassed", reset, ErrorKey{PhaseRecv, ClassECONNRESET, 104}},
	}
	for _, tt := range tests {
		if got := Classify(tt.err, PhaseSend); got != tt.want {
			t.Errorf("%s: Classify: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if !errors.Is(Reclass(ClassOrphanReset, reset), syscall.Errno(104)) {
		t.Error("errors.Is(Reclass(…, ECONNRESET), ECONNRESET): got false, want true")
	}
	if Reclass(ClassStall, nil) != nil {
		t.Error("Reclass(c, nil): got an error, want nil")
	}
}
