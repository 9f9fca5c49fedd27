package sut

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperArgv is the argv that runs the test binary in a helper mode.
func helperArgv(t *testing.T, args ...string) ([]string, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe}, args...), nil
}

// helperSpec is a Spec that runs a helper mode.
func helperSpec(t *testing.T, mode string, args ...string) Spec {
	argv, _ := helperArgv(t, args...)
	return Spec{Argv: argv, Env: helperEnvFor(mode), RunDir: t.TempDir(), ReadyTimeout: 10 * time.Second, StopGrace: 5 * time.Second}
}

// helperEnvFor is the environment addition for a helper mode (GORACE:
// a race-enabled helper would otherwise sleep 1s at exit).
func helperEnvFor(mode string) []string {
	return []string{helperEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
}

// helper modes (args after the mode):
//
//	listen ADDR            accept on ADDR, greet each connection with "hello\n", until SIGTERM
//	limits                 print RLIMIT_NOFILE soft and hard, then exit 0
//	exit CODE LINE...      print the lines (stdout, last on stderr), exit CODE
//	ignore-term ADDR       like listen, but ignore SIGTERM
//	fork N ADDR            start N children (ignore-term, no address), then listen on ADDR
//	sleep                  sleep until SIGTERM, no address
func helper(mode string, args []string) int {
	if f, ok := helperModes[mode]; ok {
		return f(args)
	}
	switch mode {
	case "limits":
		var l syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println(l.Cur, l.Max)
		return 0
	case "raise":
		// Try what redis does: raise the hard limit above the one given.
		var l syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
		want := syscall.Rlimit{Cur: l.Max * 2, Max: l.Max * 2}
		err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
		fmt.Println(l.Max, errors.Is(err, syscall.EPERM))
		return 0
	case "exit":
		code, _ := strconv.Atoi(args[0])
		for i, l := range args[1:] {
			if i == len(args)-2 {
				fmt.Fprintln(os.Stderr, l)
			} else {
				fmt.Println(l)
			}
		}
		return code
	case "sleep":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		select {
		case <-term:
		case <-time.After(time.Minute):
		}
		return 0
	case "listen":
		return listen(args[0], true)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		return listen(args[0], false)
	case "fork":
		n, _ := strconv.Atoi(args[0])
		exe, _ := os.Executable()
		for range n {
			c := exec.Command(exe, "x")
			c.Env = append(os.Environ(), helperEnvFor("child")...)
			if err := c.Start(); err != nil {
				fmt.Println(err)
				return 1
			}
			fmt.Println("child", c.Process.Pid)
		}
		return listen(args[1], true)
	case "child":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Minute)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

func listen(addr string, onTerm bool) int {
	term := make(chan os.Signal, 1)
	if onTerm {
		signal.Notify(term, syscall.SIGTERM)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	fmt.Println("listening on", ln.Addr())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\n"))
			go func() { bufio.NewReader(c).ReadString('\n'); c.Close() }()
		}
	}()
	select {
	case <-term:
		fmt.Println("terminated")
	case <-time.After(time.Minute):
	}
	return 0
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// gone reports whether pid no longer names the process with start time start.
func gone(pid int, start uint64) bool { return !(procID{pid, start}).alive() }

// readFile returns a file's content or fails the test.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
