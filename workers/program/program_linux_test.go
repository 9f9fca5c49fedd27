package program

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/lab/sut"
	"github.com/nobufs/nobufs/workers"
)

func freeListen(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// start launches the scenario's target in dir (the run directory).
func start(t *testing.T, src, dir string) *Target {
	t.Helper()
	sc := testkit.Parse(t, src)
	tg, err := New(context.Background(), &workers.ProgramEnv{Scenario: sc, Listen: freeListen(t), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tt := tg.(*Target)
	t.Cleanup(tt.Close)
	return tt
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// ping says RESP's PING to addr and returns the first reply line.
func ping(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// TestLaunchServer: target.server redis with nofile 64 starts in the run
// directory's target/, answers, says its reduced maxclients in the lines a
// late subscriber is handed, and is gone after Close with its record and
// owner files.
func TestLaunchServer(t *testing.T) {
	testkit.NeedProgram(t, "redis-server")
	dir := t.TempDir()
	tg := start(t, `
name: launch-redis
kind: half-open
target: {server: redis, nofile: 64}
`, dir)
	if got := ping(t, tg.Addr().String()); got != "+PONG" {
		t.Errorf("PING: got %q, want +PONG", got)
	}
	info := tg.Info()
	p := info.Program
	if info.Mode != Mode || p == nil || p.Server != "redis" || p.NoFile != 64 || p.PID <= 0 || !strings.HasPrefix(p.Version, "Redis server") ||
		p.Params["MaxClients"] != "10000" || len(p.Config) != 1 || p.Exit != nil {
		t.Fatalf("info = %+v program %+v", info, p)
	}
	if _, err := os.Stat(filepath.Join(dir, p.Config[0])); err != nil {
		t.Errorf("config file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DirName, OwnerFile)); err != nil {
		t.Errorf("owner file while it runs: %v", err)
	}
	var lines []string
	tg.Lines(func(l workers.ProgramLine) { lines = append(lines, l.Text) })
	if !strings.Contains(strings.Join(lines, "\n"), "maxclients has been reduced to 32") {
		t.Errorf("start-up lines %q: want redis's reduced maxclients", lines)
	}
	if len(tg.ReplyRules()) == 0 || len(tg.LogRules()) == 0 {
		t.Error("a known server brings its reply and log rules")
	}
	pid := tg.PID()
	tg.Close()
	if alive(pid) {
		t.Errorf("pid %d alive after Close", pid)
	}
	p = tg.Info().Program
	if p.Exit == nil || p.Exit.DuringRun {
		t.Errorf("exit after Close = %+v, want an exit not during the run", p.Exit)
	}
	for _, f := range []string{OwnerFile, sut.RecordFile} {
		if _, err := os.Stat(filepath.Join(dir, DirName, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Close: %v, want gone", f, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, p.Stdout)); err != nil || !strings.Contains(string(b), "Ready to accept connections") {
		t.Errorf("captured output %s: %v %q", p.Stdout, err, b)
	}
}

// TestLaunchCommand: target.command with templated argv and a file; a
// program killed from outside is said to have ended during the run.
func TestLaunchCommand(t *testing.T) {
	testkit.NeedProgram(t, "redis-server")
	tg := start(t, `
name: launch-command
kind: half-open
target:
  command:
    argv: [redis-server, '{{.RunDir}}/my.conf']
    files: [{path: my.conf, content: "bind {{.Host}}\nport {{.Port}}\nsave \"\"\ndir {{.DataDir}}\nmaxclients {{.Clients}}\n"}]
    version: [redis-server, --version]
    ready: connect
  params: {Clients: "7"}
`, t.TempDir())
	if got := ping(t, tg.Addr().String()); got != "+PONG" {
		t.Errorf("PING: got %q, want +PONG", got)
	}
	if p := tg.Info().Program; p.Server != "" || !strings.HasSuffix(p.Argv[1], "/target/my.conf") || p.Version == "" {
		t.Errorf("program = %+v", p)
	}
	if err := syscall.Kill(tg.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tg.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("not seen ended 10 s after SIGKILL")
	}
	e, ok := tg.Exit()
	if !ok || e.Signal != "SIGKILL" {
		t.Errorf("Exit = %+v %v, want SIGKILL", e, ok)
	}
	if pe := tg.Info().Program.Exit; pe == nil || !pe.DuringRun || pe.Signal != "SIGKILL" {
		t.Errorf("info exit = %+v, want killed by SIGKILL during the run", pe)
	}
}

// TestLaunchRefusedToStart: tor under 256 descriptors refuses to start;
// New says why (its own words) and leaves nothing, not even a temporary
// directory.
func TestLaunchRefusedToStart(t *testing.T) {
	testkit.NeedProgram(t, "tor")
	sc := testkit.Parse(t, `
name: tor-too-few
kind: churn
target: {server: tor, nofile: 256}
wire: {greeting: tls12-client-hello}
`)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "nobufs-target-*"))
	_, err := New(context.Background(), &workers.ProgramEnv{Scenario: sc, Listen: freeListen(t)})
	var ee *sut.ExitError
	if !errors.As(err, &ee) || !strings.Contains(strings.Join(ee.Tail, "\n"), "We need 1000 file descriptors available") {
		t.Fatalf("err = %v, want tor's own refusal", err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "nobufs-target-*"))
	if len(after) > len(before) {
		t.Errorf("temporary directories left: %v (before %v)", after, before)
	}
}

// TestCleanup: a launched target whose nobufs is gone is ended by
// Cleanup; one whose nobufs runs (this test) is kept.
func TestCleanup(t *testing.T) {
	testkit.NeedProgram(t, "redis-server")
	root := t.TempDir()
	const src = `
name: cleanup
kind: half-open
target: {server: redis}
`
	dead := start(t, src, filepath.Join(root, "dead", "20260101T000000Z"))
	live := start(t, src, filepath.Join(root, "live", "20260101T000000Z"))
	// The first one's owner: a process that has ended.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(owner{PID: gone.Process.Pid, StartTime: 1})
	if err := os.WriteFile(filepath.Join(root, "dead", "20260101T000000Z", DirName, OwnerFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	reaped, kept, err := Cleanup(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(reaped) != 1 || !strings.Contains(reaped[0], filepath.Join("dead", "20260101T000000Z", DirName)) || len(kept) != 1 {
		t.Fatalf("reaped %q, kept %q; want the dead owner's reaped, the live one's kept", reaped, kept)
	}
	testkit.WaitFor(t, func() bool { return !alive(dead.PID()) })
	if !alive(live.PID()) {
		t.Error("the live owner's target was ended")
	}
	if r, k, err := Cleanup(filepath.Join(root, "nothing-here")); err != nil || len(r)+len(k) != 0 {
		t.Errorf("Cleanup of a missing root: %v %v %v", r, k, err)
	}
}
