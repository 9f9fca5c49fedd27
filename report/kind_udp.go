package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// udpText writes the udp-push line.
func udpText(tw io.Writer, s *schema.Summary) {
	u := s.UDPPush
	if u == nil {
		return
	}
	fmt.Fprintf(tw, "datagrams\t%d sent of %d bytes, %d ENOBUFS, IP_RECVERR %s", u.Sent, u.Size, u.ENOBUFS, onOff(u.RecvErr))
	if s.Target.Datagrams > 0 {
		fmt.Fprintf(tw, "; the sink received %d", s.Target.Datagrams)
	}
	fmt.Fprintln(tw)
}
