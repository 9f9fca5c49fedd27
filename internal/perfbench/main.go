// Command perfbench is `make bench`'s side-by-side: nobufs and the C
// epoll reference (../shared/peers/connref.c, built with gcc) measured in
// one go, repetitions interleaved, each figure printed with the
// reference's and the ratio against its goal (docs/performance.md):
//
//	churn   connects/s, 64 in flight, RST close, built-in sink, vs
//	        connref -m churn -c 64 -t 2 (goal ≥ 0.85×);
//	memory  user bytes per held idle connection, client and target in
//	        their own processes (goal ≤ 1 KB each), and per connection
//	        pair with both ends in one process;
//	open    seconds to hold 19,900, target in its own process, vs
//	        connref -m hold -n 19900 -s -a 4 (goal ≤ 1.3×);
//	event   harness ns per recorded event, BenchmarkRecordEvent (≤ 50 ns);
//	100k    connections held at once by scenarios.d/hold-100k.yaml
//	        (12 segments, 5 s here; ≥ 100,000).
//
// Without the reference's source or gcc the reference columns are
// skipped, with the reason. Run it from the repository's root.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	reps := flag.Int("reps", 3, "interleaved repetitions of each pair")
	skip100k := flag.Bool("skip-100k", false, "skip the 100,000-connection run")
	flag.Parse()
	if err := run(*reps, *skip100k); err != nil {
		fmt.Fprintln(os.Stderr, "perfbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	tmp, nobufs, connref string
	why                  string // the reference is skipped because
}

func run(reps int, skip100k bool) error {
	tmp, err := os.MkdirTemp("", "perfbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{tmp: tmp, nobufs: filepath.Join(tmp, "nobufs")}
	if out, err := exec.Command("go", "build", "-o", b.nobufs, "./cmd/nobufs").CombinedOutput(); err != nil {
		return fmt.Errorf("build nobufs: %v\n%s", err, out)
	}
	src := os.Getenv("NOBUFS_CONNREF")
	if src == "" {
		src = filepath.Join("..", "shared", "peers", "connref.c")
	}
	if _, err := os.Stat(src); err != nil {
		b.why = "reference skipped: " + src + " not found (the C reference lives in ../shared/peers beside the repository; NOBUFS_CONNREF names another path)"
	} else if cc, err := exec.LookPath("gcc"); err != nil {
		b.why = "reference skipped: gcc not found"
	} else {
		b.connref = filepath.Join(tmp, "connref")
		if out, err := exec.Command(cc, "-O2", "-Wall", "-pthread", "-o", b.connref, src).CombinedOutput(); err != nil {
			return fmt.Errorf("build connref: %v\n%s", err, out)
		}
	}
	fmt.Printf("perfbench %s, %d interleaved repetitions; machine: %s\n", time.Now().UTC().Format("2006-01-02 15:04Z"), reps, machine())
	if b.why != "" {
		fmt.Println(b.why)
	}
	var churnN, churnR, openN, openR, cliB, srvB, refCliB, refSrvB, pairB, refPairB []float64
	for rep := 1; rep <= reps; rep++ {
		fmt.Printf("repetition %d/%d\n", rep, reps)
		if b.connref != "" {
			kv, err := b.ref("-m", "churn", "-c", "64", "-t", "2", "-d", "3", "-w", "1")
			if err != nil {
				return err
			}
			churnR = append(churnR, kv["conns_per_s"])
		}
		r, err := b.churn()
		if err != nil {
			return err
		}
		churnN = append(churnN, r)
		if b.connref != "" {
			kv, err := b.ref("-m", "hold", "-n", "19900", "-c", "256", "-s", "-a", "4")
			if err != nil {
				return err
			}
			openR = append(openR, kv["open_secs"])
			refCliB = append(refCliB, kv["rss_client_delta_kb"]*1024/19900)
			refSrvB = append(refSrvB, kv["rss_server_delta_kb"]*1024/19900)
			kv, err = b.ref("-m", "hold", "-n", "9000", "-c", "256")
			if err != nil {
				return err
			}
			refPairB = append(refPairB, kv["user_rss_bytes_per_conn"])
		}
		o, c, s, err := b.holdSplit(19900)
		if err != nil {
			return err
		}
		openN, cliB, srvB = append(openN, o), append(cliB, c), append(srvB, s)
		p, err := b.holdPair(9000)
		if err != nil {
			return err
		}
		pairB = append(pairB, p)
	}
	ok, conn, fail, err := eventCost()
	if err != nil {
		return err
	}
	held := -1.0
	var heldNote string
	if !skip100k {
		if held, heldNote, err = b.hold100k(); err != nil {
			return err
		}
	}

	fmt.Println()
	fmt.Printf("%-44s %-26s %-18s %-8s %-10s %s\n", "figure", "nobufs (median, range)", "reference", "ratio", "goal", "met")
	ratioRow := func(name string, n, r []float64, unit string, goal float64, higherBetter bool) {
		nm := median(n)
		refS, ratioS, met := "—", "—", "—"
		if len(r) > 0 {
			rm := median(r)
			ratio := nm / rm
			refS, ratioS = fmt.Sprintf("%s%s", num(rm), unit), fmt.Sprintf("%.2f", ratio)
			met = yes(ratio >= goal == higherBetter || ratio == goal)
		}
		g := fmt.Sprintf("≥ %.2f×", goal)
		if !higherBetter {
			g = fmt.Sprintf("≤ %.2f×", goal)
		}
		fmt.Printf("%-44s %-26s %-18s %-8s %-10s %s\n", name, fmt.Sprintf("%s%s (%s–%s)", num(nm), unit, num(slices.Min(n)), num(slices.Max(n))), refS, ratioS, g, met)
	}
	absRow := func(name string, n []float64, unit string, ref []float64, limit float64) {
		nm := median(n)
		refS := "—"
		if len(ref) > 0 {
			refS = num(median(ref)) + unit
		}
		fmt.Printf("%-44s %-26s %-18s %-8s %-10s %s\n", name, fmt.Sprintf("%s%s (%s–%s)", num(nm), unit, num(slices.Min(n)), num(slices.Max(n))), refS, "—", fmt.Sprintf("≤ %s%s", num(limit), unit), yes(nm <= limit))
	}
	ratioRow("churn connects/s, 64 in flight (vs -t 2)", churnN, churnR, "/s", 0.85, true)
	absRow("user bytes per held conn, client", cliB, " B", refCliB, 1024)
	absRow("user bytes per held conn, sink target", srvB, " B", refSrvB, 1024)
	absRow("user bytes per held conn pair, one process", pairB, " B", refPairB, 2048)
	ratioRow("seconds to hold 19,900 (target apart)", openN, openR, " s", 1.3, false)
	absRow("harness ns per event: ok (fastest of 5)", []float64{ok}, " ns", nil, 50)
	absRow("harness ns per event: connect (fastest of 5)", []float64{conn}, " ns", nil, 50)
	absRow("harness ns per event: fail (fastest of 5)", []float64{fail}, " ns", nil, 50)
	if held >= 0 {
		fmt.Printf("%-44s %-26s %-18s %-8s %-10s %s\n", "connections held at once (hold-100k)", num(held)+" "+heldNote, "—", "—", "≥ 100000", yes(held >= 100000))
	}
	return nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, model, _ = strings.Cut(l, ": ")
			break
		}
	}
	k, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d cpus, Linux %s", model, numCPU(), strings.TrimSpace(string(k)))
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

var kvRE = regexp.MustCompile(`([a-z_]+)=([0-9.]+)(?:->([0-9.]+))?`)

// ref runs connref and returns its key=value figures; a->b pairs give
// key_delta_kb = b-a.
func (b *bench) ref(args ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.connref, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("connref %v: %v\n%s", args, err, out)
	}
	return parseKV(string(out)), nil
}

// parseKV reads connref's key=value figures; a key=a->b pair (resident
// memory before and after) gives rss_<side>_delta_kb = b − a.
func parseKV(out string) map[string]float64 {
	kv := map[string]float64{}
	for _, m := range kvRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		kv[m[1]] = v
		if m[3] != "" {
			w, _ := strconv.ParseFloat(m[3], 64)
			kv[strings.TrimPrefix(m[1], "rss_kb_")] = w
			kv["rss_"+strings.TrimPrefix(m[1], "rss_kb_")+"_delta_kb"] = w - v
		}
	}
	return kv
}

func (b *bench) scenario(name, body string) (string, error) {
	f := filepath.Join(b.tmp, name+".yaml")
	return f, os.WriteFile(f, []byte("name: "+name+"\n"+body), 0o644)
}

// runNobufs runs a scenario and returns its run directory.
func (b *bench) runNobufs(file string, extra ...string) (string, error) {
	out := filepath.Join(b.tmp, "res-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	args := append([]string{"run", "--quiet", "--host-state=false", "--out", out}, extra...)
	if o, err := exec.Command(b.nobufs, append(args, file)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("nobufs run %s: %v\n%s", file, err, o)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*", "*"))
	if len(dirs) != 1 {
		return "", fmt.Errorf("nobufs run %s: %d run directories", file, len(dirs))
	}
	return dirs[0], nil
}

type summary struct {
	Status string              `json:"status"`
	Ops    struct{ OK uint64 } `json:"ops"`
	Hold   *struct {
		Opened           uint64  `json:"opened"`
		PeakHeld         uint64  `json:"peak_held"`
		AllOpenSec       float64 `json:"all_open_sec"`
		UserBytesPerConn float64 `json:"user_bytes_per_conn"`
	} `json:"hold"`
}

func readSummary(dir string) (*summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return nil, err
	}
	var s summary
	return &s, json.Unmarshal(b, &s)
}

// churn is nobufs's rate over the samples after the first (the warm-up,
// as connref's -w 1) up to the duration.
func (b *bench) churn() (float64, error) {
	f, err := b.scenario("bench-churn", `kind: port-exhaustion
target: {builtin: sink}
load: {workers: 64}
socket: {linger: 0}
stop: {duration: 4s, max_ops: 100000000}
failure: {classes: []}
`)
	if err != nil {
		return 0, err
	}
	dir, err := b.runNobufs(f)
	if err != nil {
		return 0, err
	}
	tl, err := os.Open(filepath.Join(dir, "timeline.ndjson"))
	if err != nil {
		return 0, err
	}
	defer tl.Close()
	type sample struct {
		Type    string  `json:"type"`
		Seq     int     `json:"seq"`
		Elapsed float64 `json:"elapsed_sec"`
		OK      uint64  `json:"ok"`
	}
	var ss []sample
	sc := bufio.NewScanner(tl)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var s sample
		if json.Unmarshal(sc.Bytes(), &s) == nil && s.Type == "sample" {
			ss = append(ss, s)
		}
	}
	if len(ss) < 4 {
		return 0, errors.New("churn: fewer than 4 samples")
	}
	var ok uint64
	for _, s := range ss[1:4] {
		ok += s.OK
	}
	return float64(ok) / (ss[3].Elapsed - ss[0].Elapsed), nil
}

func vmRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// holdSplit holds n connections against a sink in its own process:
// seconds until all were open, and user bytes per connection on each side.
func (b *bench) holdSplit(n int) (open, client, server float64, err error) {
	tgt := exec.Command(b.nobufs, "target", "--mode", "sink", "--listen", "127.0.0.1:0", "--peers", "4", "--quiet")
	stdout, _ := tgt.StdoutPipe()
	if err := tgt.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = tgt.Process.Signal(os.Interrupt); _ = tgt.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return 0, 0, 0, fmt.Errorf("target: %w", err)
	}
	f := strings.Fields(line) // listening ADDR mode sink peers 4 through ADDR
	if len(f) < 2 {
		return 0, 0, 0, fmt.Errorf("target said %q", line)
	}
	go func() { _, _ = bufio.NewReader(stdout).WriteTo(discard{}) }()
	time.Sleep(100 * time.Millisecond)
	before, err := vmRSS(tgt.Process.Pid)
	if err != nil {
		return 0, 0, 0, err
	}
	file, err := b.scenario("bench-hold-split", fmt.Sprintf(`kind: hold
target: {address: %q}
hold: {connections: %d, peers: 4}
load: {workers: 256}
stop: {duration: 3s}
`, f[1], n))
	if err != nil {
		return 0, 0, 0, err
	}
	var after float64
	done := make(chan struct{})
	go func() { // the target's memory while the client holds: 2 s in
		defer close(done)
		time.Sleep(2 * time.Second)
		after, _ = vmRSS(tgt.Process.Pid)
	}()
	dir, err := b.runNobufs(file)
	<-done
	if err != nil {
		return 0, 0, 0, err
	}
	s, err := readSummary(dir)
	if err != nil || s.Hold == nil || s.Hold.Opened != uint64(n) {
		return 0, 0, 0, fmt.Errorf("hold %d split: %v (%+v)", n, err, s)
	}
	return s.Hold.AllOpenSec, s.Hold.UserBytesPerConn, (after - before) / float64(n), nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// holdPair holds n connections with the sink in the process: user bytes
// per connection pair.
func (b *bench) holdPair(n int) (float64, error) {
	file, err := b.scenario("bench-hold-pair", fmt.Sprintf(`kind: hold
hold: {connections: %d}
load: {workers: 256}
stop: {duration: 1500ms}
`, n))
	if err != nil {
		return 0, err
	}
	dir, err := b.runNobufs(file)
	if err != nil {
		return 0, err
	}
	s, err := readSummary(dir)
	if err != nil || s.Hold == nil {
		return 0, fmt.Errorf("hold pair: %v", err)
	}
	return s.Hold.UserBytesPerConn, nil
}

var nsRE = regexp.MustCompile(`BenchmarkRecordEvent/(ok|connect|fail)-\d+\s+\d+\s+([0-9.]+) ns/op`)

// eventCost runs BenchmarkRecordEvent five times: the fastest ns per
// event of each (on a shared machine other tenants only add time; all
// five are printed).
func eventCost() (ok, conn, fail float64, err error) {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "RecordEvent/(ok|connect|fail)$", "-count", "5", "./workers/").CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("go test -bench RecordEvent: %v\n%s", err, out)
	}
	fmt.Print(string(out))
	by := map[string][]float64{}
	for _, m := range nsRE.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		by[m[1]] = append(by[m[1]], v)
	}
	if len(by["ok"]) == 0 || len(by["connect"]) == 0 || len(by["fail"]) == 0 {
		return 0, 0, 0, errors.New("BenchmarkRecordEvent printed no figures")
	}
	return slices.Min(by["ok"]), slices.Min(by["connect"]), slices.Min(by["fail"]), nil
}

// hold100k runs scenarios.d/hold-100k.yaml for 5 s: the most held at
// once (its merged summary's peak).
func (b *bench) hold100k() (float64, string, error) {
	src, err := os.ReadFile(filepath.Join("scenarios.d", "hold-100k.yaml"))
	if err != nil {
		return 0, "", err
	}
	body := strings.Replace(string(src), "duration: 30s", "duration: 5s", 1)
	_, body, _ = strings.Cut(body, "\n") // drop the name line
	file, err := b.scenario("hold-100k", body)
	if err != nil {
		return 0, "", err
	}
	dir, err := b.runNobufs(file)
	if err != nil {
		return 0, "", err
	}
	s, err := readSummary(dir)
	if err != nil || s.Hold == nil {
		return 0, "", fmt.Errorf("hold-100k: %v", err)
	}
	return float64(s.Hold.PeakHeld), fmt.Sprintf("(%s, all open after %.2fs)", s.Status, s.Hold.AllOpenSec), nil
}
