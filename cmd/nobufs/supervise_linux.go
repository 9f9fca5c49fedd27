package main

import "syscall"

// workerAttr: the worker in its own process group, killed when the
// supervisor's thread that started it dies.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// supervised says whether this system runs commands under a supervisor.
const supervised = true
