package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// runCLI runs the command line in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), &state{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// hostSample is the part of a timeline sample these tests read.
type hostSample struct {
	Type    string  `json:"type"`
	Seq     int     `json:"seq"`
	Elapsed float64 `json:"elapsed_sec"`
	OK      uint64  `json:"ok"`
	Host    *struct {
		TCP struct {
			TimeWait int `json:"time_wait"`
		} `json:"tcp"`
		Sockstat *struct {
			TW int `json:"tcp_tw"`
		} `json:"sockstat"`
		FDs    int      `json:"fds"`
		Errors []string `json:"errors"`
	} `json:"host"`
}

// readSamples reads the samples of the one run under out.
func readSamples(t *testing.T, out string) []hostSample {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(out, "*", "*", "timeline.ndjson"))
	if err != nil || len(m) != 1 {
		t.Fatalf("timeline files under %s: %v %v, want one", out, m, err)
	}
	f, err := os.Open(m[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ss []hostSample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s hostSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("timeline line %q: %v", sc.Text(), err)
		}
		if s.Type == "sample" {
			ss = append(ss, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestRunHostStateFlag(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("host state is sampled on Linux only")
	}
	for _, tt := range []struct {
		flag     string
		wantHost bool
	}{
		{"--host-state=true", true},
		{"--host-state=false", false},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			out := t.TempDir()
			code, stdout, stderr := runCLI(t, "run", "--quiet", "--out", out, tt.flag, "testdata/port-44k.yaml")
			if code != exitOK {
				t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
			}
			ss := readSamples(t, out)
			if len(ss) == 0 {
				t.Fatal("no samples")
			}
			for _, s := range ss {
				if got := s.Host != nil; got != tt.wantHost {
					t.Fatalf("sample %d has host: %v, want %v", s.Seq, got, tt.wantHost)
				}
				if s.Host != nil && (s.Host.FDs == 0 || s.Host.Sockstat == nil || len(s.Host.Errors) > 0) {
					t.Errorf("sample %d host: fds %d, sockstat %v, errors %v; want fds > 0, sockstat, no errors", s.Seq, s.Host.FDs, s.Host.Sockstat, s.Host.Errors)
				}
			}
		})
	}
}

// TestRunTimelineTimeWaitClimbs runs a paced port-exhaustion scenario in a
// network namespace of its own (so no other process's TIME_WAIT sockets
// count) and checks that the timeline's TIME_WAIT count climbs.
func TestRunTimelineTimeWaitClimbs(t *testing.T) {
	if out := os.Getenv("NOBUFS_TW_CHILD_OUT"); out != "" {
		// The child: inside the namespace.
		code, stdout, stderr := runCLI(t, "run", "--quiet", "--sample-every", "100ms", "--out", out, "testdata/timewait-climb.yaml")
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private network namespace (other processes' TIME_WAIT sockets would count)")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// tcp_tw_reuse 0 in the namespace (its own copy of the sysctl, not
	// the host's): with reuse, a connect after the first second may take
	// the port of one of the run's own TIME_WAITs, which then does not
	// add to the count.
	cmd := exec.CommandContext(ctx, "unshare", unshareNet(map[string]string{"net/ipv4/tcp_tw_reuse": "0"},
		os.Args[0], "-test.run=^TestRunTimelineTimeWaitClimbs$", "-test.count=1")...)
	cmd.Env = append(os.Environ(), "NOBUFS_TW_CHILD_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	ss := readSamples(t, out)
	var tw []int
	var ok uint64
	for _, s := range ss {
		if s.Host == nil {
			t.Fatalf("sample %d has no host field", s.Seq)
		}
		tw = append(tw, s.Host.TCP.TimeWait)
		ok += s.OK
	}
	if len(tw) < 5 {
		t.Fatalf("%d samples, want >= 5 (TIME_WAIT %v)", len(tw), tw)
	}
	for i := 1; i < len(tw); i++ {
		if tw[i] < tw[i-1] {
			t.Errorf("TIME_WAIT fell from %d to %d at sample %d: %v", tw[i-1], tw[i], i+1, tw)
		}
	}
	// Every closed connection is in TIME_WAIT (for 60 s) once the target's
	// FIN came back; the last few may still wait for it.
	if got, ops := tw[len(tw)-1], int(ok); ops < 100 || got > ops || got < ops*9/10 {
		t.Errorf("last TIME_WAIT = %d, want 90-100%% of the %d connects made (>= 100); timeline %v", got, ops, tw)
	}
	if tw[len(tw)/2] <= tw[0] || tw[len(tw)-1] <= tw[len(tw)/2] {
		t.Errorf("TIME_WAIT did not climb through the run: %v", tw)
	}
}
