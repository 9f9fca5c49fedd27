//go:build !unix

package lab

import (
	"errors"
	"os"
)

// lockExclusive is not needed here: lab cells are Linux's.
func lockExclusive(*os.File) error { return errors.ErrUnsupported }
