// Package regular opens files that must be regular files — scenario and
// sweep files, a run's summary and timeline — without ever blocking on
// what is not one: opening a FIFO for reading waits for a writer, forever
// (`mkfifo f.yaml; nobufs validate f.yaml` hung even past SIGTERM).
package regular

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular is returned (wrapped) for a path that is not a regular
// file: a FIFO, a device, a socket, a directory.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading if it is a regular file (symlinks followed).
func Open(path string) (*os.File, error) {
	f, err := openNonBlock(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (it is %s)", path, ErrNotRegular, what(st.Mode()))
	}
	return f, nil
}

// ReadFile reads a regular file whole, at most max bytes (max+1 are read
// so that a caller can tell a file that is too large).
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max+1))
}

func what(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "not a plain file"
}
