package scenarios

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrorClasses lists every error class a scenario may name in
// failure.classes. errclass.Classes returns the same list (a test checks).
var ErrorClasses = []string{
	"enobufs", "eaddrnotavail", "eaddrinuse", "emfile", "enfile",
	"econnrefused", "econnreset", "econnaborted", "etimedout", "ehostunreach",
	"enetunreach", "enetdown", "epipe", "eagain", "einprogress", "einval",
	"eacces", "eperm", "enomem", "deadline", "eof", "canceled", "other",
	// The VM placement's and the stall watchdog's (docs/errors.md).
	"orphan-reset", "stall", "guest-panic", "guest-oom",
	// What a real server, the kernel's log and the availability probe say
	// (docs/errors.md, "Server, kernel and probe classes").
	"server-refused", "server-bad-request", "server-conn-limit", "server-worker-connections",
	"server-emfile", "server-enfile", "server-nomem", "server-fd-low", "server-fd-too-low",
	"server-error", "server-exited",
	"kernel-syn-flood", "kernel-tcp-oom", "kernel-orphans", "kernel-tw-overflow",
	"kernel-conntrack-full", "kernel-file-max", "kernel-neigh-overflow", "kernel-oom-kill",
	"unavailable",
}

// Bound is the allowed range of a numeric or duration field.
type Bound struct {
	Min, Max float64
	// Duration says Min and Max are nanoseconds.
	Duration bool
	// ZeroOK allows 0 besides [Min, Max] ("0 or 1ms–1h").
	ZeroOK bool
}

func (b Bound) String() string {
	f := func(x float64) string {
		if b.Duration {
			return fmtDuration(time.Duration(x))
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	s := f(b.Min) + "–" + f(b.Max)
	if b.ZeroOK {
		s = "0 or " + s
	}
	return s
}

func (b Bound) ok(x float64) bool {
	return (b.ZeroOK && x == 0) || (x >= b.Min && x <= b.Max)
}

// durationOf converts nanoseconds to a Duration, saturating instead of
// wrapping around (9223372036854775807ns is a float64 of 2^63).
func durationOf(ns float64) time.Duration {
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

// fmtDuration writes d without trailing zero units: 10m, 1h, 1ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const (
	ms  = float64(time.Millisecond)
	sec = float64(time.Second)
)

// Bounds holds the allowed range of every numeric field, by path, one
// group per section. The validator enforces them and docs/scenarios.md
// states them (a test checks).
var Bounds = map[string]Bound{
	"load.workers":           {Min: 1, Max: 10000},
	"load.rate":              {Min: 0, Max: 1e6},
	"load.segments":          {Min: 1, Max: 1000, ZeroOK: true},
	"load.stages[].duration": {Min: ms, Max: 24 * 3600 * sec, Duration: true},
	"load.stages[].target":   {Min: 0, Max: 1e6},

	"socket.connect_timeout": {Min: ms, Max: 600 * sec, Duration: true},
	"socket.io_timeout":      {Min: ms, Max: 3600 * sec, Duration: true},
	"socket.keepalive":       {Min: sec, Max: 7200 * sec, Duration: true, ZeroOK: true},
	"socket.sndbuf":          {Min: 1024, Max: 64 << 20, ZeroOK: true},
	"socket.rcvbuf":          {Min: 1024, Max: 64 << 20, ZeroOK: true},
	"socket.linger":          {Min: -1, Max: 3600},
	"socket.user_timeout":    {Min: ms, Max: 3600 * sec, Duration: true, ZeroOK: true},

	"limits.nofile": {Min: 16, Max: 1 << 20, ZeroOK: true},

	"target.nofile":        {Min: 16, Max: 1 << 20, ZeroOK: true},
	"target.ready_timeout": {Min: 10 * ms, Max: 600 * sec, Duration: true},
	"target.stop_grace":    {Min: 0, Max: 60 * sec, Duration: true},
	"target.watch.pid":     {Min: 1, Max: 1 << 22, ZeroOK: true},
	"target.probe.every":   {Min: 10 * ms, Max: 3600 * sec, Duration: true},
	"target.probe.timeout": {Min: ms, Max: 600 * sec, Duration: true},

	"wire.expect.max_bytes":      {Min: 1, Max: 1 << 20},
	"wire.expect.timeout":        {Min: ms, Max: 600 * sec, Duration: true},
	"wire.expect.first_line_max": {Min: 8, Max: 4096},
	"wire.expect.lines":          {Min: 1, Max: 256},

	"stop.duration":      {Min: ms, Max: 24 * 3600 * sec, Duration: true},
	"stop.max_ops":       {Min: 1, Max: 1e10},
	"stop.after_failure": {Min: 0, Max: 3600 * sec, Duration: true},
	"stop.stall":         {Min: 100 * ms, Max: 3600 * sec, Duration: true, ZeroOK: true},

	"expect.max_ttf": {Min: 0, Max: 24 * 3600 * sec, Duration: true},
	"expect.min_ttf": {Min: 0, Max: 24 * 3600 * sec, Duration: true},

	"port_exhaustion.exchange":     {Min: 0, Max: 65536},
	"port_exhaustion.source_ports": {Min: 1, Max: 65535},

	"churn.peers":    {Min: 1, Max: 4096},
	"churn.lifetime": {Min: 0, Max: 3600 * sec, Duration: true},
	"churn.gap":      {Min: 0, Max: 3600 * sec, Duration: true},
	"churn.send":     {Min: 0, Max: 16 << 20},
	"churn.reply":    {Min: 0, Max: 16 << 20},
	"churn.rst":      {Min: 0, Max: 1},

	"half_open.backlog":         {Min: 0, Max: 65535},
	"half_open.max_pending":     {Min: 1, Max: 100000, ZeroOK: true},
	"half_open.max_new_per_sec": {Min: 0.01, Max: 1e6, ZeroOK: true},
	"half_open.hold":            {Min: 0, Max: 24 * 3600 * sec, Duration: true},

	"dead_peer.chunk":             {Min: 1, Max: 1 << 20},
	"dead_peer.read_bytes":        {Min: 0, Max: 1 << 30},
	"dead_peer.vanish_after":      {Min: 0, Max: 3600 * sec, Duration: true},
	"dead_peer.redial_after":      {Min: 0, Max: 60 * sec, Duration: true},
	"dead_peer.top":               {Min: 1, Max: 100},
	"dead_peer.reaper.max_queued": {Min: 1024, Max: 1 << 40, ZeroOK: true},
	"dead_peer.reaper.every":      {Min: 10 * ms, Max: 10 * sec, Duration: true},

	"udp_push.size": {Min: 1, Max: 65507},

	"slow_reader.read_bytes":          {Min: 0, Max: 1 << 20},
	"slow_reader.read_every":          {Min: ms, Max: 3600 * sec, Duration: true},
	"slow_reader.redial_after":        {Min: 0, Max: 60 * sec, Duration: true},
	"slow_reader.server_send_timeout": {Min: 10 * ms, Max: 3600 * sec, Duration: true, ZeroOK: true},

	"hold.connections":                {Min: 1, Max: 10_000_000},
	"hold.peers":                      {Min: 1, Max: 4096},
	"orphan_churn.peers":              {Min: 1, Max: 4096},
	"orphan_churn.burst":              {Min: 0, Max: 16 << 20},
	"orphan_churn.read_bytes":         {Min: 1, Max: 1 << 20},
	"orphan_churn.read_every":         {Min: 0, Max: 60 * sec, Duration: true},
	"orphan_churn.peer_write_timeout": {Min: 10 * ms, Max: 3600 * sec, Duration: true},

	"cell.shaping.rate":  {Min: 8000, Max: 1e10},
	"cell.shaping.burst": {Min: 1000, Max: 64 << 20},
	"cell.shaping.limit": {Min: 1, Max: 64 << 20},
	"cell.faults[].at":   {Min: 0, Max: 24 * 3600 * sec, Duration: true},

	"thresholds[].delay": {Min: 0, Max: 24 * 3600 * sec, Duration: true},
	"vm.memory":          {Min: 80, Max: 16384},
	"vm.nofile":          {Min: 1024, Max: 1 << 20},
	"vm.boot_timeout":    {Min: sec, Max: 600 * sec, Duration: true},
	"vm.run_grace":       {Min: sec, Max: 600 * sec, Duration: true},
}

// Enums holds the allowed values of every field that takes one of a set of
// names, by path, except kind (Kinds, made from KindSpecs). The validator
// enforces them and docs/scenarios.md lists them.
var Enums = map[string][]string{
	"target.builtin":              TargetModes,
	"target.server":               ServerNames,
	"target.command.ready":        {ReadyListen, ReadyConnect},
	"target.watch.rules[].class":  RuleClasses,
	"wire.greeting":               GreetingNames,
	"wire.expect.rules[].class":   RuleClasses,
	"half_open.mode":              {HalfOpenAcceptQueue, HalfOpenSynQueue},
	"load.model":                  {ModelClosed, ModelOpen},
	"load.arrival":                {ArrivalConstant, ArrivalPoisson},
	"failure.classes[]":           ErrorClasses,
	"expect.failure":              {ExpectAny, ExpectRequired, ExpectForbidden},
	"port_exhaustion.method":      {PortMethodAuto, PortMethodOption, PortMethodBind},
	"port_exhaustion.close_first": {CloseClient, CloseServer},
	"cell.faults[].action":        FaultActions,
	"vm.accel":                    {AccelAuto, AccelKVM, AccelTCG},
}

type fieldError struct{ path, msg string }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks a decoded scenario. It returns nil or a Problems whose
// entries carry the field path (no file positions: Parse adds those).
func Validate(s *Scenario) error {
	fes := validate(s)
	if len(fes) == 0 {
		return nil
	}
	ps := make(Problems, len(fes))
	for i, fe := range fes {
		ps[i] = Problem{File: s.Name, Path: fe.path, Msg: fe.msg}
	}
	return ps
}

func validate(s *Scenario) []fieldError {
	var v validator
	if s.Name == "" {
		v.add("name", "name is required (lowercase letters, digits, '.', '_' or '-', at most 64)")
	} else if !nameRE.MatchString(s.Name) {
		v.add("name", fmt.Sprintf("name %q: use lowercase letters, digits, '.', '_' or '-', at most 64, starting with a letter or digit", s.Name))
	}
	if s.Kind == "" {
		v.add("kind", "kind is required (allowed: "+strings.Join(Kinds, ", ")+")")
	} else if !slices.Contains(Kinds, s.Kind) {
		v.add("kind", fmt.Sprintf("kind: %q is not allowed (allowed: %s)", s.Kind, strings.Join(Kinds, ", ")))
	}

	// Target.
	switch {
	case s.Target.Address != "" && s.Target.Builtin != "":
		v.add("target.address", "give target.address or target.builtin, not both")
	case s.Target.Launched():
	case s.Target.Address != "":
		if _, err := netip.ParseAddrPort(s.Target.Address); err != nil {
			v.add("target.address", fmt.Sprintf("target.address %q: want IP:PORT such as 127.0.0.1:8080 or [::1]:8080", s.Target.Address))
		}
	default:
		v.enum("target.builtin", s.Target.Builtin)
	}
	if ap, err := netip.ParseAddrPort(s.Target.Listen); err != nil {
		v.add("target.listen", fmt.Sprintf("target.listen %q: want a loopback IP:PORT such as 127.0.0.1:0", s.Target.Listen))
	} else if !ap.Addr().IsLoopback() {
		v.add("target.listen", fmt.Sprintf("target.listen %q: built-in targets listen on loopback only (127.0.0.0/8 or ::1)", s.Target.Listen))
	}
	for i, c := range s.Target.Allow {
		if _, err := netip.ParsePrefix(c); err != nil {
			v.add(fmt.Sprintf("target.allow[%d]", i), fmt.Sprintf("target.allow: %q is not a CIDR such as 192.0.2.0/24", c))
		}
	}

	// Load.
	v.enum("load.model", s.Load.Model)
	v.enum("load.arrival", s.Load.Arrival)
	v.num("load.workers", float64(s.Load.Workers))
	v.num("load.rate", s.Load.Rate)
	v.num("load.segments", float64(s.Load.Segments))
	if s.Load.Segments > 1 && s.Load.Workers < s.Load.Segments {
		v.add("load.segments", fmt.Sprintf("load.segments: %d segments need at least as many load.workers (got %d): each runs its share", s.Load.Segments, s.Load.Workers))
	}
	if s.Load.Segments > 1 && s.Cell != nil {
		v.add("load.segments", "load.segments: a lab cell runs in one process; segments apply to runs on the host")
	}
	if s.Load.Model == ModelOpen && s.Load.Rate == 0 && len(s.Load.Stages) == 0 {
		v.add("load.rate", "the open model needs load.rate > 0 or load.stages")
	}
	if s.Load.Model == ModelClosed && (s.Load.Rate != 0 || len(s.Load.Stages) != 0) {
		v.add("load.model", "load.rate and load.stages apply to the open model only; set load.model: open")
	}
	if s.Load.Arrival == ArrivalPoisson && len(s.Load.Stages) > 0 {
		v.add("load.arrival", "load.arrival: poisson needs a constant rate (load.rate without load.stages); stages ramp evenly spaced arrivals")
	}
	for i, st := range s.Load.Stages {
		v.numAt(fmt.Sprintf("load.stages[%d].duration", i), "load.stages[].duration", float64(st.Duration))
		v.numAt(fmt.Sprintf("load.stages[%d].target", i), "load.stages[].target", st.Target)
	}

	// Socket options.
	v.num("socket.connect_timeout", float64(s.Socket.ConnectTimeout))
	v.num("socket.io_timeout", float64(s.Socket.IOTimeout))
	v.num("socket.keepalive", float64(s.Socket.KeepAlive))
	v.num("socket.sndbuf", float64(s.Socket.SndBuf))
	v.num("socket.rcvbuf", float64(s.Socket.RcvBuf))
	v.num("socket.linger", float64(s.Socket.Linger))
	v.num("socket.user_timeout", float64(s.Socket.UserTimeout))

	v.num("limits.nofile", float64(s.Limits.NoFile))

	// Stop and failure.
	v.num("stop.duration", float64(s.Stop.Duration))
	v.num("stop.max_ops", float64(s.Stop.MaxOps))
	v.num("stop.after_failure", float64(s.Stop.AfterFailure))
	v.num("stop.stall", float64(s.Stop.Stall))
	if s.Stop.AfterFailure > 0 && !s.Stop.OnFailure {
		v.add("stop.after_failure", "stop.after_failure applies only with stop.on_failure: true")
	}
	seen := map[string]bool{}
	for i, c := range s.Failure.Classes {
		p := fmt.Sprintf("failure.classes[%d]", i)
		v.enumAt(p, "failure.classes[]", c)
		if seen[c] {
			v.add(p, fmt.Sprintf("failure.classes: %q is listed twice", c))
		}
		seen[c] = true
	}
	v.enum("expect.failure", s.Expect.Failure)
	v.num("expect.max_ttf", float64(s.Expect.MaxTTF))
	v.num("expect.min_ttf", float64(s.Expect.MinTTF))
	if s.Expect.MaxTTF > 0 && s.Expect.MinTTF > s.Expect.MaxTTF {
		v.add("expect.min_ttf", "expect.min_ttf is larger than expect.max_ttf")
	}
	if (s.Expect.MaxTTF > 0 || s.Expect.MinTTF > 0) && s.Expect.Failure == ExpectForbidden {
		v.add("expect.failure", "expect.max_ttf and expect.min_ttf need a failure; they contradict expect.failure: forbidden")
	}
	if len(s.Failure.Classes) == 0 && s.Expect.Failure == ExpectRequired {
		v.add("expect.failure", "expect.failure: required needs at least one entry in failure.classes")
	}

	if s.Cell != nil {
		validateCell(&v, s)
	}
	if s.VM != nil {
		validateVM(&v, s)
	}

	validateTarget(&v, s)
	validateWire(&v, s)

	// Kind-specific sections: only the one of the scenario's kind.
	validateKinds(&v, s)
	validateUDPTarget(&v, s)
	validateThresholds(&v, s)
	return v.errs
}

type validator struct{ errs []fieldError }

func (v *validator) add(path, msg string) { v.errs = append(v.errs, fieldError{path, msg}) }

func (v *validator) num(path string, x float64) { v.numAt(path, path, x) }

func (v *validator) numAt(path, key string, x float64) {
	b, ok := Bounds[key]
	if !ok {
		panic("scenarios: no bound for " + key)
	}
	if b.ok(x) {
		return
	}
	got := strconv.FormatFloat(x, 'f', -1, 64)
	if b.Duration {
		got = fmtDuration(durationOf(x))
	}
	v.add(path, fmt.Sprintf("%s: %s is out of range (allowed: %s)", path, got, b))
}

func (v *validator) enum(path, val string) { v.enumAt(path, path, val) }

func (v *validator) enumAt(path, key, val string) {
	allowed, ok := Enums[key]
	if !ok {
		panic("scenarios: no enum for " + key)
	}
	if slices.Contains(allowed, val) {
		return
	}
	v.add(path, fmt.Sprintf("%s: %q is not allowed (allowed: %s)", path, val, strings.Join(allowed, ", ")))
}
