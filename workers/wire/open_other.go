//go:build !unix

package wire

import "os"

// openNoBlock opens path for reading (no O_NONBLOCK here; the caller has
// checked that it is a regular file).
func openNoBlock(path string) (*os.File, error) { return os.Open(path) }
