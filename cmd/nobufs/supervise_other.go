//go:build !linux

package main

import "syscall"

// workerAttr is unused: only Linux runs a supervisor (it relies on
// Pdeathsig so that a killed supervisor leaves no worker).
func workerAttr() *syscall.SysProcAttr { return nil }

// supervised says whether this system runs commands under a supervisor.
const supervised = false
