package cdr

import "github.com/trunkline/trunkline/rating"

// ActiveCall is a call in progress as the switch lists it: what its final CDR
// would say so far. The switch (package sip) makes it and the admin API
// serves it; it lives here so that neither imports the other.
type ActiveCall struct {
	ID         string `json:"id"`          // the switch's call id: the CDR's call_id
	SIPCallID  string `json:"sip_call_id"` // the Call-ID of the customer's leg
	CustomerID string `json:"customer_id"`
	CarrierID  string `json:"carrier_id,omitempty"` // the attempt in progress, or the one that answered
	Caller     string `json:"caller"`
	Callee     string `json:"callee"` // normalised E.164 digits
	// State is "routing" (no carrier tried yet), "trying" (a carrier has
	// the INVITE), "ringing" (it sent a provisional response) or
	// "answered".
	State    string `json:"state"`
	SetupMs  int64  `json:"setup_ms"`   // unix milliseconds
	AnswerMs int64  `json:"answer_ms"`  // 0 until answered
	Duration int    `json:"duration_s"` // answered seconds so far, rounded up as in the CDR

	Currency string       `json:"currency,omitempty"`
	SellRate rating.Money `json:"sell_rate"` // per minute; 0 while routing
	BuyRate  rating.Money `json:"buy_rate"`  // per minute of the carrier; 0 before its attempt

	Node    string `json:"node"`
	Attempt int    `json:"attempt"` // 1-based number of the carrier attempt; 0 while routing
}

// CallFilter selects live calls; an empty field matches every call.
type CallFilter struct {
	CallID     string // one call, by the switch's id
	CustomerID string
	CarrierID  string // the attempt in progress or the one that answered
	Limit      int    // at most this many, newest first; 0 for all
}
