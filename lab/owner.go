package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"sync"
)

// Cell names carry their owner's run token, not only its PID: PIDs repeat
// across PID namespaces (two sweeps under `unshare -p -f` are both PID 1)
// and are reused. Namespaces are nb-<token>-<n>-c and nb-<token>-<n>-t, the
// veth ends nb<token>-<n>c and nb<token>-<n>t (interface names are limited
// to 15 bytes). The owner proves it is alive by holding a lock
// (lockDir/nb-<token>.lock, flock): the kernel drops it when the process
// dies — also a zombie not yet reaped, and in any PID namespace — so a
// cleanup that can take the lock knows the cells are stale.
//
// Names of the older form nb-<pid>-<n>-[ct] (before run tokens) are still
// recognised and judged by their PID.

// tokenLen is the run token's length in hex digits.
const tokenLen = 8

var (
	tokenRE  = regexp.MustCompile(`^nb-([0-9a-f]{8})-([0-9]+)-[ct]$`)
	oldPIDRE = regexp.MustCompile(`^nb-([0-9]+)-([0-9]+)-[ct]$`)
)

var (
	tokenMu sync.Mutex
	token   string
)

// SetRunToken makes this process name its cells with t, which a supervisor
// chose (so that it can remove the cells of a worker process that died).
// t must be 8 lowercase hex digits.
func SetRunToken(t string) error {
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(t) {
		return fmt.Errorf("run token %q: want 8 lowercase hex digits", t)
	}
	tokenMu.Lock()
	defer tokenMu.Unlock()
	token = t
	return nil
}

// RunToken returns this process's run token, choosing a random one on
// first use.
func RunToken() string {
	tokenMu.Lock()
	defer tokenMu.Unlock()
	if token == "" {
		token = NewRunToken()
	}
	return token
}

// NewRunToken returns a fresh random run token.
func NewRunToken() string {
	var b [tokenLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail on Linux
	// A token made only of digits would read as an old-style PID name:
	// force a letter.
	s := hex.EncodeToString(b[:])
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		s = "a" + s[1:]
	}
	return s
}

// owner is who a cell namespace's name says made it.
type owner struct {
	token string // new form
	pid   int    // old form
}

// ownerOf parses a cell namespace's name; ok is false for any other name.
func ownerOf(name string) (owner, bool) {
	if m := tokenRE.FindStringSubmatch(name); m != nil {
		if _, err := strconv.ParseUint(m[1], 10, 64); err != nil { // has a letter
			return owner{token: m[1]}, true
		}
	}
	if m := oldPIDRE.FindStringSubmatch(name); m != nil {
		pid, err := strconv.Atoi(m[1])
		return owner{pid: pid}, err == nil
	}
	return owner{}, false
}
