package sut

import (
	"embed"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

//go:embed servers/*.tmpl
var serverConfigs embed.FS

// Classes of the servers' own failure lines (Server.Rules) and replies
// (Server.Replies).
const (
	ClassServerEMFILE            = "server-emfile"             // accept()/socket() failed: too many open files
	ClassServerENFILE            = "server-enfile"             // the system's file table is full
	ClassServerNoMem             = "server-nomem"              // out of socket memory
	ClassServerConnLimit         = "server-conn-limit"         // the server's own connection limit
	ClassServerWorkerConnections = "server-worker-connections" // nginx: worker_connections reached
	ClassServerFDLow             = "server-fd-low"             // started, but with fewer descriptors than configured
	ClassServerFDTooLow          = "server-fd-too-low"         // refused to start: too few descriptors
	ClassServerRefused           = "server-refused"            // the server answered that it refuses the client
	ClassServerBadRequest        = "server-bad-request"        // the server did not understand the first word
)

// Server is a real server program nobufs can launch: its config template,
// argv, the parameters its template takes (with defaults), and the rules
// that map its own log lines and its replies to classes.
type Server struct {
	Name string
	// ConfigFile is the name of the config file written to the run
	// directory from the embedded template servers/<ConfigFile>.tmpl.
	ConfigFile string
	// Argv and VersionArgv are templates (see Spec).
	Argv        []string
	VersionArgv []string
	// Params are the template parameters with their defaults; Required are
	// parameters without a default.
	Params   map[string]string
	Required []string
	// Rules map the server's log lines (its stdout and stderr) to classes.
	Rules []Rule
	// Replies map a first reply line to a class (ASCII patterns: the
	// same in workers/wire's Latin-1 rules).
	Replies []Rule
	// Greeting names the workers/wire greeting the server answers.
	Greeting string
}

var (
	// Tor is a tor relay (ORPort on Addr), offline. Params: SocksPort
	// ("0": none; an address adds a SOCKS port), ConnLimit (1000, the
	// fewest descriptors tor starts with; 64 lets it start under a limit
	// of 100), ConstrainedSockets (0 or 1) and ConstrainedSockSize (8192),
	// Extra (more torrc lines).
	Tor = Server{
		Name:        "tor",
		ConfigFile:  "torrc",
		Argv:        []string{"tor", "-f", "{{.RunDir}}/torrc", "--defaults-torrc", "/dev/null"},
		VersionArgv: []string{"tor", "--version"},
		Params: map[string]string{"SocksPort": "0", "ConnLimit": "1000", "ConstrainedSockets": "0",
			"ConstrainedSockSize": "8192", "Extra": ""},
		Rules: []Rule{
			{regexp.MustCompile(`Failing because we have \d+ connections already`), ClassServerConnLimit},
			{regexp.MustCompile(`We need \d+ file descriptors available`), ClassServerFDTooLow},
			{regexp.MustCompile(`Socks version \d+ not recognized`), ClassServerBadRequest},
		},
		Greeting: "tls12-client-hello",
	}

	// Nginx is nginx in the foreground (daemon off) serving "nobufs\n" on
	// Addr. Params: MasterProcess (on|off), WorkerProcesses,
	// WorkerConnections, Backlog, LogLevel (notice; info logs "client sent
	// invalid method"), Extra (main-context directives).
	Nginx = Server{
		Name:        "nginx",
		ConfigFile:  "nginx.conf",
		Argv:        []string{"nginx", "-p", "{{.RunDir}}", "-c", "{{.RunDir}}/nginx.conf", "-e", "stderr"},
		VersionArgv: []string{"nginx", "-v"},
		Params: map[string]string{"MasterProcess": "on", "WorkerProcesses": "1", "WorkerConnections": "512",
			"Backlog": "511", "LogLevel": "notice", "Extra": ""},
		Rules: []Rule{
			{regexp.MustCompile(`accept4\(\) failed \(24: Too many open files\)`), ClassServerEMFILE},
			{regexp.MustCompile(`accept4\(\) failed \(23: Too many open files in system\)`), ClassServerENFILE},
			{regexp.MustCompile(`worker_connections are not enough`), ClassServerWorkerConnections},
			{regexp.MustCompile(`worker_connections exceed open file resource limit`), ClassServerFDLow},
			{regexp.MustCompile(`client sent invalid method`), ClassServerBadRequest},
		},
		Replies: []Rule{
			{regexp.MustCompile(`^HTTP/1\.[01] 400`), ClassServerBadRequest},
			{regexp.MustCompile(`^HTTP/1\.[01] 503`), ClassServerRefused},
		},
		Greeting: "http-get",
	}

	// Redis is redis-server on Addr without persistence. Params:
	// MaxClients (10000, redis's default: lowered by redis to the fd limit
	// - 32), LogLevel (notice; verbose logs accept errors), Extra.
	Redis = Server{
		Name:        "redis",
		ConfigFile:  "redis.conf",
		Argv:        []string{"redis-server", "{{.RunDir}}/redis.conf"},
		VersionArgv: []string{"redis-server", "--version"},
		Params:      map[string]string{"MaxClients": "10000", "LogLevel": "notice", "Extra": ""},
		Rules: []Rule{
			{regexp.MustCompile(`maxclients has been reduced to \d+`), ClassServerFDLow},
			{regexp.MustCompile(`(Error accepting|Accepting) a? ?client connection: .*Too many open files`), ClassServerEMFILE},
		},
		Replies: []Rule{
			{regexp.MustCompile(`^-ERR max number of clients reached`), ClassServerRefused},
		},
		Greeting: "resp-ping",
	}

	// HAProxy is haproxy in the foreground (-db): one TCP frontend on Addr
	// to the server Backend (required; e.g. a nobufs listener or nginx).
	// Params: MaxConn (global), LogLevel (notice), Extra (global section).
	HAProxy = Server{
		Name:        "haproxy",
		ConfigFile:  "haproxy.cfg",
		Argv:        []string{"haproxy", "-db", "-f", "{{.RunDir}}/haproxy.cfg"},
		VersionArgv: []string{"haproxy", "-v"},
		Params:      map[string]string{"MaxConn": "100", "LogLevel": "notice", "Extra": ""},
		Required:    []string{"Backend"},
		Rules: []Rule{
			{regexp.MustCompile(`reached process FD limit`), ClassServerEMFILE},
			{regexp.MustCompile(`reached system FD limit`), ClassServerENFILE},
			{regexp.MustCompile(`reached system memory limit`), ClassServerNoMem},
			{regexp.MustCompile(`reached the configured maximum connection limit`), ClassServerConnLimit},
			{regexp.MustCompile(`Cannot raise FD limit to \d+, limit is \d+`), ClassServerFDTooLow},
			{regexp.MustCompile(`FD limit \(\d+\) too low for maxconn`), ClassServerFDTooLow},
		},
	}
)

// Servers returns the known servers.
func Servers() []Server { return []Server{Tor, Nginx, Redis, HAProxy} }

// LookupServer finds a server by name.
func LookupServer(name string) (Server, bool) {
	for _, s := range Servers() {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// Config returns the server's embedded config template.
func (s Server) Config() (string, error) {
	b, err := serverConfigs.ReadFile("servers/" + s.ConfigFile + ".tmpl")
	if err != nil {
		return "", fmt.Errorf("sut: server %s: %w", s.Name, err)
	}
	return string(b), nil
}

// Spec is the Spec that launches the server in runDir listening on addr,
// with params over the defaults. An unknown parameter (a typo) or a
// missing required one is an error.
func (s Server) Spec(runDir, addr string, params map[string]string) (Spec, error) {
	cfg, err := s.Config()
	if err != nil {
		return Spec{}, err
	}
	merged := maps.Clone(s.Params)
	if merged == nil {
		merged = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if _, ok := s.Params[k]; !ok && !slices.Contains(s.Required, k) {
			return Spec{}, fmt.Errorf("%w: server %s has no parameter %q (it has %s)", ErrSpec, s.Name, k, strings.Join(s.paramNames(), ", "))
		}
		merged[k] = params[k]
	}
	for _, k := range s.Required {
		if _, ok := merged[k]; !ok {
			return Spec{}, fmt.Errorf("%w: server %s needs parameter %q", ErrSpec, s.Name, k)
		}
	}
	return Spec{
		Argv:        slices.Clone(s.Argv),
		VersionArgv: slices.Clone(s.VersionArgv),
		Files:       []File{{Path: s.ConfigFile, Template: cfg}},
		Params:      merged,
		RunDir:      runDir,
		Addr:        addr,
	}, nil
}

func (s Server) paramNames() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range s.Params {
			if !yield(k) {
				return
			}
		}
		for _, k := range s.Required {
			if !yield(k) {
				return
			}
		}
	})
}
