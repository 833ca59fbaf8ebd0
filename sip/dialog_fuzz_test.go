package sip

import (
	"net/netip"
	"testing"
)

// FuzzDialogMatch checks the dialog matcher: a request is taken on a leg
// only when its Call-ID and To tag name that leg, its From tag is the
// party's, it comes from one of the party's addresses and its CSeq is above
// the party's last; and any request that meets all of these is taken.
func FuzzDialogMatch(f *testing.F) {
	f.Add("cust-call", "a-tag", "cust-tag", []byte{127, 0, 0, 2}, uint32(6))
	f.Add("cust-call", "a-tag", "cust-tag", []byte{127, 0, 0, 5}, uint32(6))
	f.Add("cust-call", "a-tag", "guess", []byte{127, 0, 0, 2}, uint32(6))
	f.Add("cust-call", "a-tag", "cust-tag", []byte{127, 0, 0, 2}, uint32(5))
	f.Add("switch-call", "b-tag", "carrier-tag", []byte{127, 0, 0, 1}, uint32(1))
	f.Add("switch-call", "b-tag", "cust-tag", []byte{127, 0, 0, 2}, uint32(9))
	f.Add("cust-call", "b-tag", "carrier-tag", []byte{127, 0, 0, 1}, uint32(9))
	f.Add("", "", "", []byte{}, uint32(0))
	f.Fuzz(func(t *testing.T, callID, toTag, fromTag string, ip []byte, cseq uint32) {
		tbl := newCallTable()
		c := &call{id: "switch-call", invKey: txKey{branch: "z9hG4bKx"}}
		c.a = side{callID: "cust-call", localTag: "a-tag", remoteTag: "cust-tag",
			peers: []netip.Addr{netip.MustParseAddr("127.0.0.2")}, remoteSeq: 5}
		l := &leg{b: side{callID: "switch-call", localTag: "b-tag", remoteTag: "carrier-tag", carrier: true,
			peers: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}}
		c.answeredLeg = l
		tbl.add(c)
		tbl.addLeg(c, l)
		src, _ := netip.AddrFromSlice(ip)

		taken := false
		var on *side
		if e, ok := tbl.dialog(callID, toTag); ok {
			from, _ := e.c.sides(e.leg)
			if from != nil {
				if code, _, _ := from.admits(fromTag, src.Unmap(), cseq, nil); code == 0 {
					taken, on = true, from
				}
			}
		}
		for _, sd := range []*side{&c.a, &l.b} {
			ok := callID == sd.callID && toTag == sd.localTag && fromTag == sd.remoteTag &&
				sd.from(src.Unmap()) && (sd.remoteSeq == 0 || cseq > sd.remoteSeq)
			if ok && !(taken && on == sd) {
				t.Fatalf("a request that belongs to leg %s was refused", sd.callID)
			}
			if taken && on == sd && !ok {
				t.Fatalf("leg %s took %q/%q from %q at %v CSeq %d", sd.callID, callID, toTag, fromTag, src, cseq)
			}
		}
	})
}
