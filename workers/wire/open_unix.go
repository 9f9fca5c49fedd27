//go:build unix

package wire

import (
	"os"
	"syscall"
)

// openNoBlock opens path for reading with O_NONBLOCK, so that a FIFO put in
// its place after the check cannot block the open.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
