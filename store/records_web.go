package store

import "encoding/json"

// Collections of the web panel and the customer portal.
const (
	Domains = "domains"
)

// Domain is a host name the operator points (CNAME) at the switch's admin
// listener: Area "panel" serves the control panel there, "portal" the
// customer portal, branded with Brand and Colour (#rrggbb). CertFile and
// KeyFile, when set, are its HTTPS certificate and key (PEM files on
// every node); otherwise ACME, when enabled, gets one.
type Domain struct {
	ID       string `json:"id"`
	Host     string `json:"host"`
	Area     string `json:"area"`
	Brand    string `json:"brand,omitempty"`
	Colour   string `json:"colour,omitempty"`
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	Created  int64  `json:"created"`
}

// Passkey is a WebAuthn credential a user enrolled: Credential is the
// go-webauthn credential (public key, sign count, flags) as JSON, bound to
// the relying party RPID (the host name it was made on).
type Passkey struct {
	ID         string          `json:"id"` // the credential id, base64url
	Name       string          `json:"name"`
	RPID       string          `json:"rp_id"`
	Credential json.RawMessage `json:"credential"`
	Created    int64           `json:"created"`
	LastUsed   int64           `json:"last_used,omitempty"`
}
