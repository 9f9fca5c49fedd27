//go:build !linux

package netpoll

const supported = false
