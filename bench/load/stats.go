package load

import "strconv"

// UACStats is what a UAC counted, in sipp's terms where sipp has them. A
// call succeeds when its BYE gets a 2xx; it fails on a non-2xx final
// response, a transaction timeout or a BYE from the far end. Failures are
// counted by reason: "invite_<code>", "bye_<code>", "invite_timeout",
// "bye_timeout", "remote_bye", "aborted" (the run was stopped with the call
// in progress). Times are taken by the UAC itself: when it sends the
// INVITE's batch and when it reads the response's.
type UACStats struct {
	Created     int64            `json:"created"`
	Succeeded   int64            `json:"succeeded"`
	Failed      int64            `json:"failed"`
	Outstanding int64            `json:"outstanding"` // calls in progress (after Run: none, they count as aborted)
	Failures    map[string]int64 `json:"failures,omitempty"`
	Responses   map[string]int64 `json:"responses"` // received, by status code and CSeq method ("180 INVITE")

	InviteRetransmissions int64   `json:"invite_retransmissions"` // INVITEs sent again (no response within T1, 2 T1, …)
	ByeRetransmissions    int64   `json:"bye_retransmissions"`    // BYEs sent again
	AckRetransmissions    int64   `json:"ack_retransmissions"`    // ACKs sent again for a retransmitted 2xx
	RequestsAnswered      int64   `json:"requests_answered"`      // in-dialog requests from the far end (BYE, OPTIONS, UPDATE, …)
	Stray                 int64   `json:"stray"`                  // messages for no call in progress
	Malformed             int64   `json:"malformed"`              // datagrams Scan did not take
	SendErrors            int64   `json:"send_errors"`            // datagrams the kernel refused
	ElapsedS              float64 `json:"elapsed_s"`              // from the first INVITE to the end of the run
	PlacingS              float64 `json:"placing_s"`              // from the first INVITE to the last
	Rate                  float64 `json:"rate"`                   // calls created per second while placing
	InviteTo200           Summary `json:"invite_to_200"`          // INVITE sent → 2xx received, µs
	InviteTo1xx           Summary `json:"invite_to_provisional"`  // INVITE sent → first 1xx received, µs
}

// UASStats is what a UAS counted.
type UASStats struct {
	Calls     int64 `json:"calls"`     // INVITEs that started a call (answered 180 and 200)
	Acked     int64 `json:"acked"`     // calls whose 200 was acknowledged
	Completed int64 `json:"completed"` // calls ended by a BYE (answered 200)
	Failed    int64 `json:"failed"`    // calls with neither ACK nor BYE within the timeout
	Active    int64 `json:"active"`    // calls answered and not ended

	InviteRetransmissions int64   `json:"invite_retransmissions"` // INVITEs received again (answered again)
	ByeRetransmissions    int64   `json:"bye_retransmissions"`    // BYEs of ended calls received again (answered again)
	Retransmissions       int64   `json:"retransmissions"`        // 200s sent again for want of an ACK
	Unknown               int64   `json:"unknown"`                // requests for no known call (answered 481)
	Other                 int64   `json:"other"`                  // other requests answered (OPTIONS, UPDATE, CANCEL, re-INVITE, …)
	Stray                 int64   `json:"stray"`                  // responses and ACKs that match nothing
	Malformed             int64   `json:"malformed"`
	SendErrors            int64   `json:"send_errors"`
	ElapsedS              float64 `json:"elapsed_s"`
}

// codeCounts counts responses by status code and CSeq method (INVITE,
// BYE, other).
type codeCounts [3][600]int64

func (c *codeCounts) add(code int, method []byte) {
	k := 2
	switch {
	case isMethod(method, "INVITE"):
		k = 0
	case isMethod(method, "BYE"):
		k = 1
	}
	c[k][code-100]++
}

func (c *codeCounts) snapshot() map[string]int64 {
	out := map[string]int64{}
	for k, name := range []string{"INVITE", "BYE", "other"} {
		for i, n := range c[k] {
			if n > 0 {
				out[strconv.Itoa(i+100)+" "+name] = n
			}
		}
	}
	return out
}
