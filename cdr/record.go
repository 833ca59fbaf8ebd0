package cdr

import "github.com/trunkline/trunkline/rating"

// Record is one rated routing attempt of a call. A call with several carrier
// attempts has one Record per attempt; the last has Final set. (CallID,
// Attempt) is the idempotent key sinks deduplicate on: CallID is generated
// by the switch for each call, whatever the customer sends.
type Record struct {
	CallID      string `json:"call_id"`
	Attempt     int    `json:"attempt"`
	Final       bool   `json:"final"`
	Node        string `json:"node"`
	CustomerID  string `json:"customer_id"`
	AuthMethod  string `json:"auth_method"` // "ip" or "digest"
	CarrierID   string `json:"carrier_id,omitempty"`
	SourceIP    string `json:"source_ip"`
	Caller      string `json:"caller"`
	Callee      string `json:"callee"` // normalised E.164 digits
	Prefix      string `json:"prefix,omitempty"`
	Description string `json:"description,omitempty"`

	SetupMs  int64 `json:"setup_ms"`  // unix milliseconds
	AnswerMs int64 `json:"answer_ms"` // 0 when not answered
	EndMs    int64 `json:"end_ms"`
	PDDMs    int64 `json:"pdd_ms"`
	Duration int   `json:"duration"` // answered seconds, rounded up
	Billed   int   `json:"billed"`   // billed seconds

	SIPCode    int    `json:"sip_code"`
	Reason     string `json:"reason"`
	HangupSide string `json:"hangup_side"` // "customer", "carrier", "switch", "admin" (an operator)

	Currency string       `json:"currency"`
	SellRate rating.Money `json:"sell_rate"`
	SellCost rating.Money `json:"sell_cost"`
	BuyRate  rating.Money `json:"buy_rate"`
	BuyCost  rating.Money `json:"buy_cost"`
	Margin   rating.Money `json:"margin"`
	Trace    string       `json:"trace,omitempty"` // rating trace: card, revision, increments, rounding

	// SIPCallID is the Call-ID of the customer's leg, as the customer sent
	// it (CallID is the switch's own, the carrier leg's Call-ID).
	SIPCallID string `json:"sip_call_id,omitempty"`

	// MediaRelayed is set when the call's RTP went through the switch's
	// relay; CustomerRTP and CarrierRTP are then what each party sent, as
	// the relay saw it (a final record only).
	MediaRelayed bool     `json:"media_relayed,omitempty"`
	CustomerRTP  RTPStats `json:"customer_rtp"`
	CarrierRTP   RTPStats `json:"carrier_rtp"`
}

// RTPStats are one direction of a relayed call's audio (RFC 3550): what
// a party sent, as the relay saw it: the packets and bytes relayed, the
// packets lost by their sequence numbers, the interarrival jitter, an
// R-factor MOS estimate (1–4.5, 0 without packets) and the RTP payload
// types seen ("0,101"); and what the same party reported receiving in its
// last RTCP report (the other direction as its receiver saw it): packets
// lost and jitter.
type RTPStats struct {
	Packets          int64   `json:"packets"`
	Bytes            int64   `json:"bytes"`
	Lost             int64   `json:"lost"`
	JitterUs         int64   `json:"jitter_us"`
	MOS              float64 `json:"mos"`
	PayloadTypes     string  `json:"payload_types,omitempty"`
	ReportedLost     int64   `json:"reported_lost"`
	ReportedJitterUs int64   `json:"reported_jitter_us"`
}
