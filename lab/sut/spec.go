package sut

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Defaults of a Spec's zero fields.
const (
	DefaultReadyTimeout = 10 * time.Second
	DefaultStopGrace    = 3 * time.Second
	DefaultTailLines    = 20
	DefaultStdout       = "stdout.log"
	DefaultStderr       = "stderr.log"
	// RecordFile is the file in the run directory that names the started
	// process (PID and start time) for Reap.
	RecordFile = "sut.pid"
)

// Errors by value; wrapped with context.
var (
	// ErrUnsupported: launching and watching programs is not implemented on
	// this system (it is on Linux). Also matches errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("sut: %w on this system", errors.ErrUnsupported)
	// ErrSpec: the Spec is invalid (a missing field, a template error).
	ErrSpec = errors.New("invalid program spec")
	// ErrNotReady: the ready address did not accept a connection within
	// the ready timeout.
	ErrNotReady = errors.New("program not ready")
	// ErrGone: the watched process no longer exists (or its PID now names
	// another process).
	ErrGone = errors.New("process gone")
)

// File is a file written under the run directory before the program starts.
type File struct {
	// Path is relative to the run directory and must stay inside it.
	Path string
	// Template is a text/template body, filled like Argv (see Spec).
	Template string
	// Mode is the file's permission bits (0644 when 0).
	Mode fs.FileMode
}

// Line is one line of the program's output.
type Line struct {
	Stream string // "stdout" or "stderr"
	Text   string // without the line ending; cut at 64 KiB
	Time   time.Time
}

// Spec says how to launch a program and when it is ready.
//
// Argv, Env, Dir, ReadyAddr and the Files' templates are text/template
// strings filled with {{.Addr}} {{.Host}} {{.Port}} (of Addr),
// {{.DataDir}} (RunDir/data, created), {{.RunDir}}, and every key of
// Params; a key that is not there is an error.
type Spec struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH.
	Argv []string
	// Env is added to nobufs's own environment ("KEY=VALUE").
	Env []string
	// Dir is the working directory (the run directory when empty).
	Dir string
	// Files are written under RunDir before the start.
	Files []File
	// Params are further template keys.
	Params map[string]string
	// RunDir is the caller's directory for this run: config files, data,
	// captured output and the record file go there. Required.
	RunDir string
	// Addr is the host:port the program listens on, for the templates and
	// as the default ReadyAddr.
	Addr string
	// NoFile, when not 0, is the program's RLIMIT_NOFILE (soft = hard),
	// in force from its first instruction. nobufs's own limit is untouched.
	NoFile uint64
	// Stdout and Stderr name the capture files in RunDir (stdout.log and
	// stderr.log when empty).
	Stdout, Stderr string
	// OnLine, when set, is called with every output line as it arrives,
	// from the goroutine reading that stream: keep it short.
	OnLine func(Line)
	// ReadyAddr is the host:port that accepts a TCP connection once the
	// program is ready (Addr when empty; no wait when both are empty).
	// By default readiness is a LISTEN socket on ReadyAddr (or on its
	// port, any address) held by the program or a descendant, seen through
	// sock_diag in its network namespace: no connection is made, so none
	// takes one of the server's slots (haproxy's maxconn counted the probe
	// until it noticed the close) or shows in its log. ReadyConnect makes
	// it a TCP connect, closed at once.
	ReadyAddr    string
	ReadyConnect bool
	// ReadyTimeout bounds the wait for ReadyAddr (DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// VersionArgv prints the program's version; its first line is kept in
	// Info.Version. Empty: no version.
	VersionArgv []string
	// StopGrace is the grace after SIGTERM used when the context ends or a
	// start fails (DefaultStopGrace).
	StopGrace time.Duration
	// TailLines is how many last output lines an ExitError carries
	// (DefaultTailLines).
	TailLines int
	// SharePIDNamespace keeps the program in nobufs's PID namespace. By
	// default (as root) it is the first process of a PID namespace of its
	// own, so that when it ends, the kernel ends all its descendants too.
	SharePIDNamespace bool
}

// resolved is a Spec with its templates filled and defaults applied.
type resolved struct {
	argv, env, versionArgv []string
	dir, readyAddr         string
	readyConnect           bool
	files                  []resolvedFile
	stdout, stderr         string
	readyTimeout, grace    time.Duration
	tailLines              int
	dataDir                string
}

type resolvedFile struct {
	path string
	body string
	mode fs.FileMode
}

var builtinKeys = []string{"Addr", "Host", "Port", "DataDir", "RunDir"}

// Vars returns the template data of s: the built-in keys and Params.
func (s Spec) Vars() (map[string]any, error) {
	if s.RunDir == "" {
		return nil, fmt.Errorf("%w: RunDir is empty", ErrSpec)
	}
	if !filepath.IsAbs(s.RunDir) {
		return nil, fmt.Errorf("%w: RunDir %q is not absolute", ErrSpec, s.RunDir)
	}
	v := map[string]any{"RunDir": s.RunDir, "DataDir": filepath.Join(s.RunDir, "data")}
	if s.Addr != "" {
		host, port, err := net.SplitHostPort(s.Addr)
		if err != nil {
			return nil, fmt.Errorf("%w: Addr: %w", ErrSpec, err)
		}
		v["Addr"], v["Host"], v["Port"] = s.Addr, host, port
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		if slices.Contains(builtinKeys, k) {
			return nil, fmt.Errorf("%w: Params key %q is a built-in key", ErrSpec, k)
		}
		v[k] = s.Params[k]
	}
	return v, nil
}

// Render fills one template string with vars; a missing key is an error.
func Render(name, text string, vars map[string]any) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSpec, name, err)
	}
	var sb strings.Builder
	if err := t.Execute(&sb, vars); err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSpec, name, err)
	}
	return sb.String(), nil
}

// resolve fills the templates and applies the defaults; every problem is
// reported at once.
func (s Spec) resolve() (*resolved, error) {
	vars, err := s.Vars()
	if err != nil {
		return nil, err
	}
	var errs []error
	r := &resolved{dataDir: vars["DataDir"].(string)}
	fill := func(name, text string) string {
		out, err := Render(name, text, vars)
		if err != nil {
			errs = append(errs, err)
		}
		return out
	}
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		errs = append(errs, fmt.Errorf("%w: Argv is empty", ErrSpec))
	}
	for i, a := range s.Argv {
		r.argv = append(r.argv, fill(fmt.Sprintf("Argv[%d]", i), a))
	}
	for i, e := range s.Env {
		e = fill(fmt.Sprintf("Env[%d]", i), e)
		if !strings.Contains(e, "=") {
			errs = append(errs, fmt.Errorf("%w: Env[%d] %q is not KEY=VALUE", ErrSpec, i, e))
		}
		r.env = append(r.env, e)
	}
	for i, a := range s.VersionArgv {
		r.versionArgv = append(r.versionArgv, fill(fmt.Sprintf("VersionArgv[%d]", i), a))
	}
	r.dir = s.RunDir
	if s.Dir != "" {
		r.dir = fill("Dir", s.Dir)
	}
	r.readyAddr = s.Addr
	if s.ReadyAddr != "" {
		r.readyAddr = fill("ReadyAddr", s.ReadyAddr)
	}
	r.readyConnect = s.ReadyConnect
	if r.readyAddr != "" && !r.readyConnect {
		if _, err := netip.ParseAddrPort(r.readyAddr); err != nil {
			errs = append(errs, fmt.Errorf("%w: ReadyAddr %q is not IP:port (a name needs ReadyConnect)", ErrSpec, r.readyAddr))
		}
	}
	for i, f := range s.Files {
		p, err := inside(s.RunDir, f.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: Files[%d]: %w", ErrSpec, i, err))
			continue
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		r.files = append(r.files, resolvedFile{path: p, body: fill(fmt.Sprintf("Files[%d] %s", i, f.Path), f.Template), mode: mode})
	}
	for _, c := range []struct {
		dst  *string
		name string
		def  string
	}{{&r.stdout, s.Stdout, DefaultStdout}, {&r.stderr, s.Stderr, DefaultStderr}} {
		if c.name == "" {
			c.name = c.def
		}
		p, err := inside(s.RunDir, c.name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: capture file: %w", ErrSpec, err))
		}
		*c.dst = p
	}
	r.readyTimeout = cmpOr(s.ReadyTimeout, DefaultReadyTimeout)
	r.grace = cmpOr(s.StopGrace, DefaultStopGrace)
	r.tailLines = s.TailLines
	if r.tailLines <= 0 {
		r.tailLines = DefaultTailLines
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// inside joins a relative path to dir, refusing absolute paths and paths
// that leave dir.
func inside(dir, rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("path %q is not a relative path inside the run directory", rel)
	}
	return filepath.Join(dir, rel), nil
}

// writeFiles creates the data directory and writes the files.
func (r *resolved) writeFiles() error {
	if err := os.MkdirAll(r.dataDir, 0o700); err != nil {
		return fmt.Errorf("sut: data dir: %w", err)
	}
	for _, f := range r.files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return fmt.Errorf("sut: %w", err)
		}
		if err := os.WriteFile(f.path, []byte(f.body), f.mode); err != nil {
			return fmt.Errorf("sut: %w", err)
		}
	}
	return nil
}
