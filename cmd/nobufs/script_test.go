package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"go.uber.org/goleak"

	"github.com/nobufs/nobufs/lab"
)

// leakCheckedM runs the tests, then fails them if goroutines leaked.
type leakCheckedM struct{ m *testing.M }

func (l leakCheckedM) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

// envRunMain makes the test binary act as the nobufs command, so Go tests
// can start a second process (e.g. a standalone target) without building one.
const envRunMain = "NOBUFS_TEST_RUN_MAIN"

// TestMain runs the command when envRunMain is set; otherwise the tests
// (testscript's "nobufs" command re-executes this binary too), failing
// them if any goroutine is still running when they end.
func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Exit(Main())
	}
	testscript.Main(leakCheckedM{m}, map[string]func(){
		"nobufs": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the end-to-end CLI tests in testdata/script.
// $SCENARIOS points at the shipped scenarios.d.
func TestScripts(t *testing.T) {
	scen, err := filepath.Abs("../../scenarios.d")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("SCENARIOS", scen)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"rundir":    cmdRundir,
			"jsonget":   cmdJSONGet,
			"waitlines": cmdWaitLines,
			"waitport":  cmdWaitPort,
			"waitfile":  cmdWaitFile,
			"netns":     cmdNetns,
			"sendsig":   cmdSendSig,
			"netexec":   cmdNetexec,
		},
		// [cells]: lab cells can be made here (root, network namespaces).
		Condition: func(cond string) (bool, error) {
			if cond == "cells" {
				return lab.Check() == nil, nil
			}

			return false, fmt.Errorf("unknown condition %q", cond)
		},
		RequireExplicitExec: true,
	})
}

// cmdRundir DIR: sets $RUN to the only run directory under DIR.
func cmdRundir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: rundir DIR")
	}
	es, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	var dirs []string
	for _, e := range es {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		ts.Fatalf("no run directory under %s", args[0])
	}
	ts.Setenv("RUN", filepath.Join(ts.MkAbs(args[0]), dirs[len(dirs)-1]))
}

// splitPath splits a dotted path; "\." is a literal dot in a key.
func splitPath(p string) []string {
	var parts []string
	cur := ""
	for _, seg := range strings.Split(p, ".") {
		if strings.HasSuffix(seg, "\\") {
			cur += strings.TrimSuffix(seg, "\\") + "."
			continue
		}
		parts = append(parts, cur+seg)
		cur = ""
	}
	return parts
}

// cmdJSONGet FILE PATH: prints the value at a dotted PATH of a JSON file
// (list elements by index: errors.0.class; a literal dot as \.); fails if
// it is missing.
func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonget FILE PATH")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var v any
	ts.Check(json.Unmarshal(b, &v))
	for _, part := range splitPath(args[1]) {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				if neg {
					return
				}
				ts.Fatalf("%s: no %q in %s", args[0], part, args[1])
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("%s: no element %q in %s", args[0], part, args[1])
			}
			v = x[i]
		default:
			ts.Fatalf("%s: %s is not an object or list at %q", args[0], args[1], part)
		}
	}
	if neg {
		ts.Fatalf("%s: %s exists", args[0], args[1])
	}
	out, _ := json.Marshal(v)
	fmt.Fprintln(ts.Stdout(), string(out))
}

// cmdWaitLines DIR N: waits (up to 20 s) until the only run directory under
// DIR has a timeline of at least N lines, then sets $RUN to it.
func cmdWaitLines(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitlines DIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		matches, _ := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "*", "timeline.ndjson"))
		if len(matches) == 1 {
			b, _ := os.ReadFile(matches[0])
			if bytes.Count(b, []byte("\n")) >= n {
				ts.Setenv("RUN", filepath.Dir(matches[0]))
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no timeline with %d lines under %s after 20 s", n, args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdWaitPort ADDR: waits (up to 20 s) until a TCP connect to ADDR works.
func cmdWaitPort(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitport ADDR")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", args[0], time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("nothing listens on %s after 20 s: %v", args[0], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdWaitFile GLOB N: waits (up to 20 s) until a file matching GLOB has at
// least N lines.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitfile GLOB N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		matches, _ := filepath.Glob(ts.MkAbs(args[0]))
		for _, m := range matches {
			if b, _ := os.ReadFile(m); bytes.Count(b, []byte("\n")) >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no file %s with %d lines after 20 s", args[0], n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdNetns SUMMARY: runs `ip netns list` and succeeds when it lists a
// namespace of the process whose cell the run's summary.json names
// (nb-<token>-…); with !, when it lists none.
func cmdNetns(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: netns SUMMARY")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var s struct {
		Cell struct {
			Name string `json:"name"`
		} `json:"cell"`
	}
	ts.Check(json.Unmarshal(b, &s))
	parts := strings.Split(s.Cell.Name, "-") // nb TOKEN N
	if len(parts) != 3 || parts[0] != "nb" {
		ts.Fatalf("%s: cell name %q is not nb-<token>-<n>", args[0], s.Cell.Name)
	}
	prefix := "nb-" + parts[1] + "-"
	out, err := exec.Command("ip", "netns", "list").Output()
	ts.Check(err)
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, prefix) {
			found = append(found, strings.Fields(line)[0])
		}
	}
	switch {
	case neg && len(found) > 0:
		ts.Fatalf("ip netns list still has %v", found)
	case !neg && len(found) == 0:
		ts.Fatalf("ip netns list has no namespace %s*", prefix)
	}
	fmt.Fprintf(ts.Stdout(), "%s namespaces: %d\n", prefix, len(found))
}

// cmdSendSig SIG: sends SIG (HUP, TERM, QUIT, INT) to the background
// command started last, by PID (testscript's kill knows only INT and KILL).
func cmdSendSig(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sendsig HUP|TERM|QUIT|INT")
	}
	sig, ok := map[string]syscall.Signal{"HUP": syscall.SIGHUP, "TERM": syscall.SIGTERM, "QUIT": syscall.SIGQUIT, "INT": syscall.SIGINT}[args[0]]
	if !ok {
		ts.Fatalf("unknown signal %s", args[0])
	}
	cmds := ts.BackgroundCmds()
	if len(cmds) == 0 {
		ts.Fatalf("no background command")
	}
	ts.Check(cmds[len(cmds)-1].Process.Signal(sig))
}

// privateNet reports once whether `unshare --net` works here (root, a
// kernel with network namespaces, util-linux's unshare).
var privateNet = sync.OnceValue(func() bool {
	return exec.Command("unshare", "--net", "true").Run() == nil
})

// unshareNet is the argv of `unshare` that runs args in a network
// namespace of its own, prepared first: its loopback up, tcp_rfc1337 1 (a
// TIME_WAIT ignores an RST instead of ending: under load, with the default
// 0, RSTs ended some of a run's own TIME_WAITs early and gave their ports
// back, docs/lab.md#ports-freed-early) and the sysctls in set, written in
// the namespace's own copy ("net/ipv4/tcp_tw_reuse": "0").
func unshareNet(set map[string]string, args ...string) []string {
	prep := "ip link set lo up && echo 1 > /proc/sys/net/ipv4/tcp_rfc1337"
	for _, k := range slices.Sorted(maps.Keys(set)) {
		prep += " && echo " + set[k] + " > /proc/sys/" + k
	}
	return append([]string{"--net", "--", "sh", "-c", prep + ` && exec "$@"`, "sh"}, args...)
}

// cmdNetexec PROG [ARGS...]: runs PROG as exec does, but in a network
// namespace of its own (unshareNet). A script that counts ports (50
// source ports → connect #51 fails) is then exact however many TIME_WAITs
// other tests leave on the host's loopback: on Linux a TIME_WAIT older
// than tcp_tw_reuse_delay (1 s) can be reused, so another test's old
// connections in the same range would let a few more connects succeed.
// Where namespaces cannot be made it runs PROG here and says so.
func cmdNetexec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: netexec PROG [ARGS...]")
	}
	var err error
	if privateNet() {
		err = ts.Exec("unshare", unshareNet(nil, args...)...)
	} else {
		ts.Logf("netexec: no network namespace can be made here; %s runs in the host's", args[0])
		err = ts.Exec(args[0], args[1:]...)
	}
	switch {
	case neg && err == nil:
		ts.Fatalf("unexpected success")
	case !neg && err != nil:
		ts.Fatalf("%v", err)
	}
}
