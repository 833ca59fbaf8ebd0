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
}
