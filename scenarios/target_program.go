package scenarios

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/nobufs/nobufs/workers/wire"
)

// Known servers a scenario can launch (target.server): lab/sut's table.
// ServerParams lists each one's template parameters (a test checks both
// against lab/sut), so that a misspelt parameter is found by validate.
const (
	ServerTor     = "tor"
	ServerNginx   = "nginx"
	ServerRedis   = "redis"
	ServerHAProxy = "haproxy"
)

// ServerNames lists the known servers, in documentation order.
var ServerNames = []string{ServerTor, ServerNginx, ServerRedis, ServerHAProxy}

// ServerParams are the template parameters each known server takes.
var ServerParams = map[string][]string{
	ServerTor:     {"ConnLimit", "ConstrainedSockSize", "ConstrainedSockets", "Extra", "SocksPort"},
	ServerNginx:   {"Backlog", "Extra", "LogLevel", "MasterProcess", "WorkerConnections", "WorkerProcesses"},
	ServerRedis:   {"Extra", "LogLevel", "MaxClients"},
	ServerHAProxy: {"Backend", "Extra", "LogLevel", "MaxConn"},
}

// Ready checks of a command (target.command.ready).
const (
	// ReadyListen: the program holds a LISTEN socket on its address (seen
	// through sock_diag; no connection is made).
	ReadyListen = "listen"
	// ReadyConnect: a TCP connect to its address succeeds (closed at once).
	ReadyConnect = "connect"
)

// Command is a program of the user's own, launched for the run as the
// target: argv, environment, working directory and files are templates
// filled with {{.Addr}} {{.Host}} {{.Port}} {{.DataDir}} {{.RunDir}} and
// target.params.
type Command struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH.
	Argv []string `yaml:"argv" json:"argv"`
	// Env adds KEY=VALUE entries to nobufs's environment.
	Env []string `yaml:"env,omitempty" json:"env,omitempty"`
	// Dir is the working directory (the target's run directory when empty).
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Files are written under the target's run directory before the start.
	Files []CommandFile `yaml:"files,omitempty" json:"files,omitempty"`
	// Version prints the program's version; its first line is recorded.
	Version []string `yaml:"version,omitempty" json:"version,omitempty"`
	// Ready is ReadyListen or ReadyConnect.
	Ready string `yaml:"ready" json:"ready"`
}

// CommandFile is a file written before the program starts.
type CommandFile struct {
	// Path is relative to the target's run directory.
	Path string `yaml:"path" json:"path"`
	// Content is a template, filled as Command's fields are.
	Content string `yaml:"content" json:"content"`
}

// Watch says what of the server is watched during the run, beside the
// load: its process, its log, the kernel's log. Each signal is in the
// timeline and can be a failure class (docs/errors.md).
type Watch struct {
	// PID is a process to watch (open descriptors against its
	// RLIMIT_NOFILE, RSS, threads, TCP sockets by state); 0 watches the
	// launched program, if there is one.
	PID int `yaml:"pid" json:"pid"`
	// Log is a file to follow (from its end at the start of the run);
	// the launched program's output is followed anyway.
	Log string `yaml:"log,omitempty" json:"log,omitempty"`
	// Rules map log lines to classes; a known server's own rules are
	// tried after them.
	Rules []wire.RuleSpec `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Kernel reads the kernel log (/dev/kmsg) for the kernel's own words
	// ("Possible SYN flooding", "TCP: out of memory"…), when it can be read.
	Kernel bool `yaml:"kernel" json:"kernel"`
}

// Probe is the availability probe beside the load: every Every one fresh
// connection (with wire's payload and expect, when set), its outcome and
// latency in the timeline.
type Probe struct {
	Every   Duration `yaml:"every" json:"every"`
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Launched reports whether the target is a program nobufs starts.
func (t Target) Launched() bool { return t.Server != "" || t.Command != nil }

// ruleClasses returns the classes a rule may give: the server classes of
// ErrorClasses (a server's end is not a line).
func ruleClasses() []string {
	var out []string
	for _, c := range ErrorClasses {
		if strings.HasPrefix(c, "server-") && c != "server-exited" {
			out = append(out, c)
		}
	}
	return out
}

// RuleClasses are the classes a reply or log rule may give.
var RuleClasses = ruleClasses()

// templateKeys are the built-in keys of a launched program's templates.
var templateKeys = []string{"Addr", "Host", "Port", "DataDir", "RunDir"}

var paramRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// validateTarget checks the target section beyond its address: the
// launched program, the watch and the probe.
func validateTarget(v *validator, s *Scenario) {
	t := &s.Target
	forms := 0
	for _, set := range []bool{t.Builtin != "", t.Address != "", t.Server != "", t.Command != nil} {
		if set {
			forms++
		}
	}
	if forms > 1 && t.Launched() { // builtin with address is said in validate
		v.add("target", "give one of target.builtin, target.address, target.server and target.command")
	}
	if t.Server != "" {
		v.enum("target.server", t.Server)
	}
	if !t.Launched() {
		if len(t.Params) > 0 {
			v.add("target.params", "target.params apply to a launched target (target.server or target.command)")
		}
		if t.NoFile != 0 {
			v.add("target.nofile", "target.nofile is a launched program's RLIMIT_NOFILE (target.server or target.command); limits.nofile is nobufs's own")
		}
	}
	v.num("target.nofile", float64(t.NoFile))
	v.num("target.ready_timeout", float64(t.ReadyTimeout))
	v.num("target.stop_grace", float64(t.StopGrace))
	for _, k := range sortedParamKeys(t.Params) {
		p := "target.params." + k
		switch {
		case !paramRE.MatchString(k):
			v.add(p, fmt.Sprintf("%s: a parameter name is a letter, then letters, digits or _", p))
		case slices.Contains(templateKeys, k):
			v.add(p, fmt.Sprintf("%s: %s is a built-in key of the templates", p, k))
		case t.Server != "" && ServerParams[t.Server] != nil && !slices.Contains(ServerParams[t.Server], k):
			v.add(p, fmt.Sprintf("%s: server %s has no parameter %q (it has %s)", p, t.Server, k, strings.Join(ServerParams[t.Server], ", ")))
		}
	}
	if t.Server == ServerHAProxy && t.Params["Backend"] == "" {
		v.add("target.params", "target.server: haproxy needs target.params.Backend (the host:port it forwards to)")
	}
	if c := t.Command; c != nil {
		validateCommand(v, s, c)
	}
	w := &t.Watch
	v.num("target.watch.pid", float64(w.PID))
	if w.PID != 0 && t.Launched() {
		v.add("target.watch.pid", "target.watch.pid: the launched program is watched already; give a PID only for a server nobufs does not start")
	}
	if w.Log != "" && !filepath.IsAbs(w.Log) {
		v.add("target.watch.log", fmt.Sprintf("target.watch.log %q: give an absolute path", w.Log))
	}
	validateRules(v, "target.watch.rules", w.Rules)
	if len(w.Rules) > 0 && w.Log == "" && !t.Launched() {
		v.add("target.watch.rules", "target.watch.rules need lines: a target.watch.log file or a launched target's output")
	}
	if p := t.Probe; p != nil {
		v.num("target.probe.every", float64(p.Every))
		v.num("target.probe.timeout", float64(p.Timeout))
		if s.Kind == KindUDPPush {
			v.add("target.probe", "target.probe connects over TCP; kind udp-push sends UDP")
		}
	}
	if t.Launched() && s.Kind == KindUDPPush {
		v.add("target", "kind udp-push sends UDP; a launched target is a TCP server")
	}
}

func validateCommand(v *validator, s *Scenario, c *Command) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		v.add("target.command.argv", "target.command.argv: give the program and its arguments")
	}
	v.enum("target.command.ready", c.Ready)
	vars := map[string]any{"Addr": "127.0.0.1:1", "Host": "127.0.0.1", "Port": "1", "DataDir": "/d", "RunDir": "/r"}
	for k, val := range s.Target.Params {
		vars[k] = val
	}
	check := func(path, text string) {
		tp, err := template.New(path).Option("missingkey=error").Parse(text)
		if err == nil {
			err = tp.Execute(discard{}, vars)
		}
		if err != nil {
			v.add(path, fmt.Sprintf("%s: template: %v", path, err))
		}
	}
	for i, a := range c.Argv {
		check(fmt.Sprintf("target.command.argv[%d]", i), a)
	}
	for i, e := range c.Env {
		p := fmt.Sprintf("target.command.env[%d]", i)
		check(p, e)
		if !strings.Contains(e, "=") {
			v.add(p, fmt.Sprintf("%s %q: want KEY=VALUE", p, e))
		}
	}
	for i, a := range c.Version {
		check(fmt.Sprintf("target.command.version[%d]", i), a)
	}
	if c.Dir != "" {
		check("target.command.dir", c.Dir)
	}
	seen := map[string]bool{}
	for i, f := range c.Files {
		p := fmt.Sprintf("target.command.files[%d]", i)
		if f.Path == "" || filepath.IsAbs(f.Path) || !filepath.IsLocal(f.Path) {
			v.add(p+".path", fmt.Sprintf("%s.path %q: a relative path inside the target's run directory", p, f.Path))
		}
		if seen[f.Path] {
			v.add(p+".path", fmt.Sprintf("%s.path %q is given twice", p, f.Path))
		}
		seen[f.Path] = true
		check(p+".content", f.Content)
	}
}

// validateRules checks rules: a valid pattern and a class a rule may give.
func validateRules(v *validator, path string, rules []wire.RuleSpec) {
	for i, r := range rules {
		p := fmt.Sprintf("%s[%d]", path, i)
		if r.Match == "" {
			v.add(p+".match", p+".match: give a regular expression")
		} else if _, err := regexp.Compile(r.Match); err != nil {
			v.add(p+".match", fmt.Sprintf("%s.match: %v", p, err))
		}
		v.enumAt(p+".class", path+"[].class", r.Class)
	}
}

func sortedParamKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// discard is an io.Writer that keeps nothing (templates are executed only
// to find their problems).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// resolveTarget fills a launched target's and the probe's defaults that
// depend on the rest of the file.
func resolveTarget(s *Scenario) {
	if c := s.Target.Command; c != nil && c.Ready == "" {
		c.Ready = ReadyListen
	}
	if p := s.Target.Probe; p != nil {
		if p.Every == 0 {
			p.Every = Duration(time.Second)
		}
		if p.Timeout == 0 {
			p.Timeout = Duration(2 * time.Second)
		}
	}
}
