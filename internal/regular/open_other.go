//go:build !unix

package regular

import (
	"fmt"
	"os"
)

// openNonBlock checks the path before opening it (no O_NONBLOCK here).
func openNonBlock(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (it is %s)", path, ErrNotRegular, what(st.Mode()))
	}
	return os.Open(path)
}
