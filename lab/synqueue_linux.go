package lab

import (
	"fmt"

	"github.com/nobufs/nobufs/scenarios"
)

// wantsSynDrop reports whether sc's connects must leave the server in
// SYN_RECV: half_open.mode syn-queue.
func wantsSynDrop(sc *scenarios.Scenario) bool {
	return sc.HalfOpen != nil && sc.HalfOpen.Mode == scenarios.HalfOpenSynQueue
}

// synAckDropRules is the nftables ruleset of the client side that drops
// every SYN-ACK from the target's address: the client's connects stay in
// SYN_SENT (retransmitting their SYN) and the server keeps each one as a
// request socket in SYN_RECV, so its SYN queue fills — real connects
// doing what hping3 with random sources does.
func synAckDropRules(target string) string {
	return fmt.Sprintf("table inet nobufs_synq {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr %s tcp flags & (syn | ack) == (syn | ack) drop\n }\n}\n", target)
}

// dropSynAcks loads synAckDropRules in the client namespace (it goes
// with the namespace).
func (c *Cell) dropSynAcks() error {
	rules := synAckDropRules(c.TargetAddr.Addr().String())
	if err := c.InClient(func() error { return nft(rules) }); err != nil {
		return fmt.Errorf("cell %s: half_open.mode %s: %w", c.Name, scenarios.HalfOpenSynQueue, err)
	}
	return nil
}
