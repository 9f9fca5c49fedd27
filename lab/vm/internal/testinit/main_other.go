//go:build !linux

// Command testinit is the /init of lab/vm's boot tests; it runs only in a
// Linux guest.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "testinit: a Linux guest's /init")
	os.Exit(2)
}
