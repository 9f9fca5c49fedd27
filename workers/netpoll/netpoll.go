// Package netpoll is nobufs's own event loop for the jobs where the
// standard library's one goroutine and one buffer per connection is the
// cost being measured: holding many idle connections (kind hold, the
// holding built-in targets) and keeping many connects in flight. It works
// on raw non-blocking descriptors with epoll (Linux); a held connection
// costs its descriptor number and a few bytes, never a goroutine.
//
// Errors keep the standard library's shape, so that errclass classifies
// them the same way: a failed system call is an *os.SyscallError named
// after the call ("socket", "bind", "connect", "setsockopt", "read",
// "accept4") wrapping the syscall.Errno; a connect that ran out of time is
// os.ErrDeadlineExceeded.
//
// On other systems every constructor returns ErrUnsupported; callers keep
// their portable path there.
package netpoll

import "errors"

// ErrUnsupported is returned on systems without the event loop (not Linux).
var ErrUnsupported = errors.New("netpoll: the event loop needs Linux (epoll)")

// Supported reports whether this system has the event loop.
func Supported() bool { return supported }
