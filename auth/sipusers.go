package auth

import (
	"fmt"
	"net/netip"

	"github.com/trunkline/trunkline/store"
)

// sipUsers is an immutable table of SIP users by realm and username.
type sipUsers struct {
	byKey map[string]*sipUser
}

type sipUser struct {
	customerID string
	id         string
	channels   int
	cps        int
	ha1MD5     string
	ha1SHA256  string
	allow      []netip.Prefix // empty: any source
}

func userKey(realm, username string) string { return realm + "\x00" + username }

func newSIPUsers(recs []store.SIPUser) (*sipUsers, error) {
	t := &sipUsers{byKey: make(map[string]*sipUser, len(recs))}
	for _, r := range recs {
		u := &sipUser{customerID: r.CustomerID, id: r.ID, channels: r.ChannelLimit, cps: r.CPSLimit, ha1MD5: r.HA1MD5, ha1SHA256: r.HA1SHA256}
		for _, c := range r.AllowedCIDRs {
			p, err := ParseCIDR(c)
			if err != nil {
				return nil, fmt.Errorf("SIP user %s (%s): %w", r.ID, r.Username, err)
			}
			u.allow = append(u.allow, p)
		}
		t.byKey[userKey(r.Realm, r.Username)] = u
	}
	return t, nil
}

func (t *sipUsers) get(realm, username string) (*sipUser, bool) {
	u, ok := t.byKey[userKey(realm, username)]
	return u, ok
}

func (u *sipUser) allowed(src netip.Addr) bool {
	if len(u.allow) == 0 {
		return true
	}
	src = src.Unmap()
	for _, p := range u.allow {
		if p.Contains(src) {
			return true
		}
	}
	return false
}
