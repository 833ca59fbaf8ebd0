package admin

import (
	"context"
	"net/http"
	"unicode"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

const minSIPPasswordLen = 8

// sipUserInput is the body of POST /customers/{id}/sip-users; the password
// is turned into HA1s and never stored.
type sipUserInput struct {
	Username     string   `json:"username"`
	Password     string   `json:"password"`
	Realm        string   `json:"realm,omitempty"`
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	ChannelLimit int      `json:"channel_limit,omitempty"`
	CPSLimit     int      `json:"cps_limit,omitempty"`
}

// sipUserView is a SIP user as the API shows it: never the HA1s.
type sipUserView struct {
	ID           string   `json:"id"`
	CustomerID   string   `json:"customer_id"`
	Username     string   `json:"username"`
	Realm        string   `json:"realm"`
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	ChannelLimit int      `json:"channel_limit,omitempty"`
	CPSLimit     int      `json:"cps_limit,omitempty"`
}

func viewSIPUser(u store.SIPUser) sipUserView {
	return sipUserView{ID: u.ID, CustomerID: u.CustomerID, Username: u.Username, Realm: u.Realm, AllowedCIDRs: u.AllowedCIDRs,
		ChannelLimit: u.ChannelLimit, CPSLimit: u.CPSLimit}
}

func validSIPUsername(u string) error {
	if u == "" || len(u) > 64 {
		return errInvalid("username", "must be 1 to 64 characters")
	}
	for _, c := range u {
		if c == ':' || c == '"' || c == '\\' || c == '@' || unicode.IsSpace(c) || !unicode.IsPrint(c) {
			return errInvalid("username", "may not hold %q", c)
		}
	}
	return nil
}

func (s *Server) createSIPUser(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	var in sipUserInput
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := validSIPUsername(in.Username); err != nil {
		return err
	}
	if err := validEntryLimits(in.ChannelLimit, in.CPSLimit); err != nil {
		return err
	}
	if len(in.Password) < minSIPPasswordLen {
		return errInvalid("password", "must be at least %d characters", minSIPPasswordLen)
	}
	if in.Realm == "" {
		in.Realm = s.sipRealm()
	}
	cidrs := make([]string, 0, len(in.AllowedCIDRs))
	for _, c := range in.AllowedCIDRs {
		n, err := normalizeCIDR(c)
		if err != nil {
			return errInvalid("allowed_cidrs", "%q is neither an IP address nor a CIDR prefix without host bits", c)
		}
		cidrs = append(cidrs, n)
	}
	u := store.SIPUser{ID: store.NewID(), CustomerID: cust, Username: in.Username, Realm: in.Realm,
		HA1MD5:       auth.HA1(auth.AlgMD5, in.Username, in.Realm, in.Password),
		HA1SHA256:    auth.HA1(auth.AlgSHA256, in.Username, in.Realm, in.Password),
		AllowedCIDRs: cidrs, ChannelLimit: in.ChannelLimit, CPSLimit: in.CPSLimit}
	err := s.write(r, func(ctx context.Context) error {
		if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", cust); err != nil {
			return err
		}
		dups, err := listWhere(ctx, s.st, store.SIPUsers, func(o store.SIPUser) bool {
			return o.Username == u.Username && o.Realm == u.Realm
		})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return errConflict("username", "SIP user %q already exists in realm %q", u.Username, u.Realm)
		}
		return store.PutJSON(ctx, s.st, store.SIPUsers, u.ID, u)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+cust+"/sip-users/"+u.ID)
	writeJSON(w, http.StatusCreated, viewSIPUser(u))
	return nil
}

func (s *Server) listSIPUsers(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", cust); err != nil {
		return err
	}
	us, err := listWhere(r.Context(), s.st, store.SIPUsers, func(u store.SIPUser) bool { return u.CustomerID == cust })
	if err != nil {
		return err
	}
	out := make([]sipUserView, 0, len(us))
	for _, u := range us {
		out = append(out, viewSIPUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sip_users": out})
	return nil
}

func (s *Server) deleteSIPUser(w http.ResponseWriter, r *http.Request) error {
	cust, id := r.PathValue("id"), r.PathValue("sid")
	err := s.write(r, func(ctx context.Context) error {
		u, err := load[store.SIPUser](ctx, s.st, store.SIPUsers, "SIP user", id)
		if err != nil {
			return err
		}
		if u.CustomerID != cust {
			return errNotFound("SIP user", id)
		}
		return remove(ctx, s.st, store.SIPUsers, "SIP user", id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
