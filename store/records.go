package store

// Collection names.
const (
	Customers   = "customers"
	CustomerIPs = "customer_ips"
	Routes      = "routes"
	Carriers    = "carriers"
	Endpoints   = "endpoints"
	RateCards   = "ratecards"
	Rates       = "rates" // one document per card id: a JSON array of Rate
	Tokens      = "tokens"
	Secrets     = "secrets" // node secrets shared by the cluster (raw bytes)
)

// Money amounts in records are decimal strings ("0.012000") so that JSON
// carries them exactly; rating.ParseMoney reads them.

// Customer is a wholesale customer sending traffic to the switch.
type Customer struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Currency     string `json:"currency"`
	Status       string `json:"status"`                  // "active" or "suspended"
	ChannelLimit int    `json:"channel_limit,omitempty"` // 0: the switch's default; -1: none
	CPSLimit     int    `json:"cps_limit,omitempty"`
	// Timezone is an IANA zone name ("Europe/Berlin"); CDR exports cut
	// their periods at its midnights. "" means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Trusted customers' caller identity (P-Asserted-Identity,
	// Remote-Party-ID) crosses to carriers, its host rewritten to the
	// switch's; an untrusted customer's is dropped.
	Trusted bool `json:"trusted,omitempty"`
	// SIPHeaders names headers, beyond the switch's policy, that cross from
	// this customer to carriers (see package sip/border).
	SIPHeaders []string `json:"sip_headers,omitempty"`

	// Money settings, decimal strings in the customer's currency (percent
	// for the percentages). TaxPercent is taken out of payments.
	// CreditLimit "" means no credit control (calls are charged, never
	// refused for money); "0" is prepaid (calls need available balance);
	// a positive limit lets the balance go down to −CreditLimit.
	TaxPercent  string `json:"tax_percent,omitempty"`
	CreditLimit string `json:"credit_limit,omitempty"`
	// Spend safety: the most one call may cost, the highest sell rate per
	// minute a call may be routed at, and the most the customer may spend
	// in a day of its timezone; "" means no cap.
	MaxCallCost     string `json:"max_call_cost,omitempty"`
	MaxRate         string `json:"max_rate,omitempty"`
	DailySpendLimit string `json:"daily_spend_limit,omitempty"`
	// Margin protection for this customer's calls, replacing the switch's
	// defaults when set: the least margin a carrier must leave, as a
	// percentage of the sell cost and as an amount per call.
	MinMarginPercent string `json:"min_margin_percent,omitempty"`
	MinMargin        string `json:"min_margin,omitempty"`
	// MaxCallSeconds ends this customer's answered calls after so many
	// seconds instead of the switch's sip.max_call_duration, shorter or
	// longer (0: the switch's).
	MaxCallSeconds int `json:"max_call_seconds,omitempty"`
	// InboundRules translate the numbers of this customer's calls as they
	// arrive, before normalisation and rating (see Translation).
	InboundRules []Translation `json:"inbound_rules,omitempty"`
	// MediaRelay is whether this customer's calls have their RTP relayed
	// by the switch (anchored media): "auto" (or "") when the customer is
	// behind NAT, "always" or "never". A carrier's own setting other than
	// auto wins (see Carrier.MediaRelay).
	MediaRelay string `json:"media_relay,omitempty"`
}

// Media relay settings of customers and carriers.
const (
	MediaRelayAuto   = "auto"
	MediaRelayAlways = "always"
	MediaRelayNever  = "never"
)

// CustomerIP authenticates calls from an address or CIDR as a customer.
type CustomerIP struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	CIDR       string `json:"cidr"` // "192.0.2.10" or "192.0.2.0/24"
	TechPrefix string `json:"tech_prefix,omitempty"`
	// Limits of the calls authenticated by this entry (0: none), besides
	// the customer's.
	ChannelLimit int `json:"channel_limit,omitempty"`
	CPSLimit     int `json:"cps_limit,omitempty"`
}

// Route sends a customer's calls whose normalised number starts with Prefix
// ("" matches all) to a customer rate card.
//
// Strategy orders the carriers margin protection keeps: "lcr" (or empty)
// least cost first, "priority" by Carriers' Priority (lower first), or
// "weighted" the first attempt drawn at random by Carriers' Weight per
// call, the rest in weighted-random order. Carriers the strategy does not
// list follow in least-cost order. Pin, when not empty, keeps only those
// carriers; Block never uses those. MaxAttempts caps the carrier endpoints
// tried per call (0: all).
type Route struct {
	ID          string         `json:"id"`
	CustomerID  string         `json:"customer_id"`
	Prefix      string         `json:"prefix"`
	CardID      string         `json:"card_id"`
	Strategy    string         `json:"strategy,omitempty"`
	Carriers    []RouteCarrier `json:"carriers,omitempty"`
	Pin         []string       `json:"pin,omitempty"`
	Block       []string       `json:"block,omitempty"`
	MaxAttempts int            `json:"max_attempts,omitempty"`
}

// RouteCarrier is a carrier's place in a route's strategy: its Priority
// (lower first) for "priority", its Weight (a share of the first attempts)
// for "weighted".
type RouteCarrier struct {
	CarrierID string `json:"carrier_id"`
	Priority  int    `json:"priority,omitempty"`
	Weight    int    `json:"weight,omitempty"`
}

// Carrier is a termination provider.
type Carrier struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Currency     string `json:"currency"`
	Status       string `json:"status"` // "active" or "disabled"
	ChannelLimit int    `json:"channel_limit,omitempty"`
	CPSLimit     int    `json:"cps_limit,omitempty"`
	// SIPHeaders names headers, beyond the switch's policy, that cross from
	// this carrier to customers (see package sip/border).
	SIPHeaders []string `json:"sip_headers,omitempty"`
	// FailoverCodes are the final SIP codes after which the next carrier
	// is tried; empty means the switch's default list. No response at
	// all, a redirect and a challenge always move on.
	FailoverCodes []int `json:"failover_codes,omitempty"`
	// Timeouts in milliseconds (0: the switch's setting, or none for
	// PDD): FirstReplyTimeoutMS for any response to the INVITE,
	// RingTimeoutMS for an answer once it rings (after 180/183),
	// PDDTimeoutMS for a 180/183 after the INVITE (post-dial delay).
	// Past the first reply or PDD timeout the next carrier is tried.
	FirstReplyTimeoutMS int `json:"first_reply_timeout_ms,omitempty"`
	RingTimeoutMS       int `json:"ring_timeout_ms,omitempty"`
	PDDTimeoutMS        int `json:"pdd_timeout_ms,omitempty"`
	// OutboundRules translate the numbers sent to this carrier: the
	// Request-URI and To user (called) and the From user (calling).
	OutboundRules []Translation `json:"outbound_rules,omitempty"`
	// MediaRelay is whether calls to this carrier have their RTP relayed
	// by the switch: "auto" (or "") as the customer's setting says,
	// "always" (the carrier never learns a customer's media address) or
	// "never".
	MediaRelay string `json:"media_relay,omitempty"`
}

// Translation is one number translation rule: one operation on one number
// of a call. A customer's or carrier's rules apply in order, each to the
// result of the one before; each rule sets Field and exactly one
// operation:
//
//   - Strip: remove this many leading characters.
//   - Prefix: put these characters in front (a carrier tech prefix, "1234#").
//   - Match: replace every match of this RE2 regular expression with
//     Replace ("$1" or "${1}" name groups; "" deletes); no match: unchanged.
//   - ToE164: national to E.164 with this country code: a number with one
//     leading 0 (not 00) loses it and gets the code ("02071234567" →
//     "442071234567"); a leading "+" is dropped; others are unchanged.
//   - ToNational: E.164 (with or without "+" or "00") with this country
//     code to national: the code becomes a 0 ("442071234567" →
//     "02071234567"); others are unchanged.
//
// Numbers are made of digits, "#", "*" and "+", at most 64 characters; a
// rule whose result is empty or outside that is an error at run time (see
// package routing).
type Translation struct {
	Field      string `json:"field"` // "called" or "calling"
	Strip      int    `json:"strip,omitempty"`
	Prefix     string `json:"prefix,omitempty"`
	Match      string `json:"match,omitempty"`
	Replace    string `json:"replace,omitempty"`
	ToE164     string `json:"to_e164,omitempty"`
	ToNational string `json:"to_national,omitempty"`
}

// Endpoint is one address a carrier takes calls on.
type Endpoint struct {
	ID        string `json:"id"`
	CarrierID string `json:"carrier_id"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	Transport string `json:"transport"` // "udp" or "tcp"
	Weight    int    `json:"weight,omitempty"`
	// Limits of this endpoint alone (0: none), besides its carrier's.
	ChannelLimit int `json:"channel_limit,omitempty"`
	CPSLimit     int `json:"cps_limit,omitempty"`
}

// RateCard is a provider card (Kind "provider", owned by CarrierID) or a
// customer card (Kind "customer", derived from ProviderCards by Markup).
type RateCard struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	CarrierID     string   `json:"carrier_id,omitempty"`
	ProviderCards []string `json:"provider_cards,omitempty"`
	Currency      string   `json:"currency"`
	Precision     int      `json:"precision"` // decimal places of a cost, 0..6
	Rounding      string   `json:"rounding"`  // "up", "down", "half-up", "half-even"
	Revision      int      `json:"revision"`
	// Markup, on a customer card, derives its rows from ProviderCards
	// instead of storing its own; nil means the card has its own rows.
	Markup *Markup `json:"markup,omitempty"`
}

// Markup prices a derived customer card from its provider cards: Kind
// "percent" (Value is a percentage), "fixed" (Value is added to the rate
// per minute) or "sell" (Value is the rate per minute); Combine says which
// provider row counts when several rate a prefix: "min" (the default),
// "max" or "avg". Value is a decimal string like the money amounts.
type Markup struct {
	Kind    string `json:"kind"`
	Value   string `json:"value"`
	Combine string `json:"combine,omitempty"`
}

// Rate is one row of a rate card.
type Rate struct {
	Prefix        string `json:"prefix"`
	Description   string `json:"description,omitempty"`
	PerMinute     string `json:"rate"`
	ConnectionFee string `json:"connection_fee,omitempty"`
	Initial       int    `json:"initial_increment,omitempty"`    // seconds; 0 means the card default
	Increment     int    `json:"subsequent_increment,omitempty"` // seconds; 0 means the card default
	Grace         int    `json:"grace,omitempty"`
	From          int64  `json:"effective_from,omitempty"` // unix seconds; 0 = always
	To            int64  `json:"effective_to,omitempty"`   // unix seconds; 0 = open
	Blocked       bool   `json:"blocked,omitempty"`
}

// Token is an admin API bearer token, stored as the SHA-256 of its secret.
type Token struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Created int64  `json:"created"`
	// Added for admin identities; a token without UserID is a bootstrap
	// admin token. Role and CustomerID are copied from the user at issue.
	UserID     string `json:"user_id,omitempty"`
	Role       string `json:"role,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	Expires    int64  `json:"expires,omitempty"` // unix seconds; 0 = never
}

// Collections added for authentication.
const (
	SIPUsers      = "sip_users"
	CustomerHosts = "customer_hosts"
	Users         = "users"
)

// SIPUser is a customer's SIP digest account. Only the HA1 digests are
// stored (H(username:realm:password) for MD5 and SHA-256), never the
// password. AllowedCIDRs, when not empty, limits the source addresses the
// user may call from.
type SIPUser struct {
	ID           string   `json:"id"`
	CustomerID   string   `json:"customer_id"`
	Username     string   `json:"username"`
	Realm        string   `json:"realm"`
	HA1MD5       string   `json:"ha1_md5"`
	HA1SHA256    string   `json:"ha1_sha256"`
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	// Limits of the calls authenticated as this user (0: none).
	ChannelLimit int `json:"channel_limit,omitempty"`
	CPSLimit     int `json:"cps_limit,omitempty"`
}

// CustomerHost authenticates calls from the addresses a host name resolves
// to as a customer. Host is a name with A/AAAA records ("pbx.example.com")
// or an SRV owner name ("_sip._udp.example.com"), whose targets are
// resolved in turn.
type CustomerHost struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Host       string `json:"host"`
	TechPrefix string `json:"tech_prefix,omitempty"`
	// Limits of the calls authenticated by this entry (0: none).
	ChannelLimit int `json:"channel_limit,omitempty"`
	CPSLimit     int `json:"cps_limit,omitempty"`
}

// User is an admin API identity. Role is "admin", "read-only" or
// "customer" (then CustomerID names the only customer it may see).
// PasswordHash is an argon2id PHC string; the TOTP secret is kept only
// while two-factor is pending or enabled; RecoveryCodes hold SHA-256
// hashes of unused recovery codes.
type User struct {
	ID            string   `json:"id"`
	Username      string   `json:"username"`
	Role          string   `json:"role"`
	CustomerID    string   `json:"customer_id,omitempty"`
	PasswordHash  string   `json:"password_hash"`
	TOTPSecret    string   `json:"totp_secret,omitempty"`
	TOTPEnabled   bool     `json:"totp_enabled,omitempty"`
	TOTPLastStep  int64    `json:"totp_last_step,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	Created       int64    `json:"created"`
	// Timezone (IANA, such as Europe/Paris) renders times for this user
	// (CSV downloads of CDRs of no one customer); "" takes the switch's.
	Timezone string `json:"timezone,omitempty"`
	// Passkeys are the user's WebAuthn credentials; WebAuthnHandle
	// (random, base64url) is the user handle they carry.
	Passkeys       []Passkey `json:"passkeys,omitempty"`
	WebAuthnHandle string    `json:"webauthn_handle,omitempty"`
	// Email and Mobile (E.164) are the user's contact details.
	Email  string `json:"email,omitempty"`
	Mobile string `json:"mobile,omitempty"`
}

// Collections added for CDR field selection and exports.
const (
	CDRFieldSets = "cdr_fields" // one document per customer id
	Exports      = "exports"
	Audit        = "audit"       // admin changes, by time (admin.AuditEntry)
	Quickstarts  = "quickstarts" // quickstart results by request key
	ExportRuns   = "export_runs"
)

// CDRFieldSet lists the CDR columns, in order, that a customer's CSV
// downloads and exports carry; its id is the customer id. No document
// means every column.
type CDRFieldSet struct {
	CustomerID string   `json:"customer_id"`
	Fields     []string `json:"fields"`
}

// Export is a scheduled CDR export of one customer's CDRs to an SFTP or FTP
// server. Protocol is "sftp" or "ftp"; Format "csv" or "csv.gz"; Frequency
// "daily", "weekly" (ISO weeks, from Monday) or "monthly", with periods cut
// in the customer's timezone. Fields empty means the customer's CDR field
// set. Password and PrivateKey (PEM, SFTP only) are stored sealed
// (auth.Sealer: "sealed:v1:…", under a key kept outside the store). HostKey is the SFTP server's public key in
// authorized_keys form; empty means trust the first key seen and keep it.
type Export struct {
	ID         string   `json:"id"`
	CustomerID string   `json:"customer_id"`
	Protocol   string   `json:"protocol"`
	Host       string   `json:"host"`
	Port       int      `json:"port"`
	Username   string   `json:"username"`
	Password   string   `json:"password,omitempty"`
	PrivateKey string   `json:"private_key,omitempty"`
	HostKey    string   `json:"host_key,omitempty"`
	RemoteDir  string   `json:"remote_dir"`
	Fields     []string `json:"fields,omitempty"`
	Format     string   `json:"format"`
	Frequency  string   `json:"frequency"`
	Disabled   bool     `json:"disabled,omitempty"`
	Created    int64    `json:"created"` // unix seconds
}

// ExportRun is the log entry of one attempt to deliver one period of an
// export. Its id starts with the export id and sorts by start time. Status
// is "ok" or "failed"; From and To (unix milliseconds) bound the setup
// times the file covers, To exclusive.
type ExportRun struct {
	ID       string `json:"id"`
	ExportID string `json:"export_id"`
	Period   string `json:"period"`
	From     int64  `json:"from_ms"`
	To       int64  `json:"to_ms"`
	Started  int64  `json:"started_ms"`
	Finished int64  `json:"finished_ms"`
	Status   string `json:"status"`
	File     string `json:"file"`
	Records  int    `json:"records"`
	Bytes    int64  `json:"bytes"`
	Error    string `json:"error,omitempty"`
}

// Collections added for money control.
const (
	Payments = "payments"
)

// Payment is money a customer paid. Total is what was paid, tax included;
// on completion the customer's tax is taken out (Tax) and Net credits the
// balance, exactly once. Status is "pending" or "completed". Amounts are
// decimal strings in the customer's currency; times are Unix milliseconds.
type Payment struct {
	ID          string `json:"id"`
	CustomerID  string `json:"customer_id"`
	Total       string `json:"total"`
	TaxPercent  string `json:"tax_percent"`
	Tax         string `json:"tax"`
	Net         string `json:"net"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
	Status      string `json:"status"`
	Created     int64  `json:"created_ms"`
	Completed   int64  `json:"completed_ms,omitempty"`
}
