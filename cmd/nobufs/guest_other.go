//go:build !linux

package main

// guestHook does nothing: VM guests run Linux.
func guestHook() {}
