//go:build unix

package regular

import (
	"os"
	"syscall"
)

// openNonBlock opens without blocking on a FIFO (O_NONBLOCK; it has no
// effect on a regular file's reads).
func openNonBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
