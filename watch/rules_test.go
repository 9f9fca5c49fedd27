package watch

import (
	"testing"

	"github.com/nobufs/nobufs/lab/sut"
)

// TestKernelRulesPort: a SYN flood counts only on the target's port; the
// other kernel rules are kept as they are.
func TestKernelRulesPort(t *testing.T) {
	classOf := func(rules []sut.Rule, line string) string {
		for _, r := range rules {
			if r.Pattern.MatchString(line) {
				return r.Class
			}
		}
		return ""
	}
	tests := []struct {
		port uint16
		line string
		want string
	}{
		{9050, "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:9050. Sending cookies.", sut.ClassKernelSYNFlood},
		{9050, "TCP: request_sock_TCPv6: Possible SYN flooding on port [::1]:9050. Sending cookies.", sut.ClassKernelSYNFlood},
		{9050, "TCP: request_sock_TCP: Possible SYN flooding on port 9050. Sending cookies.", sut.ClassKernelSYNFlood}, // older kernels
		{9050, "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:90501. Sending cookies.", ""},
		{9050, "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:19050. Sending cookies.", ""},
		{9050, "TCP: request_sock_TCP: Possible SYN flooding on port 10.9.0.2:905. Dropping request.", ""},
		{0, "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:9050. Sending cookies.", ""}, // no target port
		{9050, "TCP: out of memory -- consider tuning tcp_mem", sut.ClassKernelTCPOOM},
		{0, "TCP: too many orphaned sockets", sut.ClassKernelOrphans},
	}
	for _, tt := range tests {
		if got := classOf(kernelRules(tt.port), tt.line); got != tt.want {
			t.Errorf("port %d, %q: got class %q, want %q", tt.port, tt.line, got, tt.want)
		}
	}
}
