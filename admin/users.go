package admin

import (
	"context"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

const minPasswordLen = 10

// userView is a user as the API shows it: no hash, secret or codes.
type userView struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Role          string `json:"role"`
	CustomerID    string `json:"customer_id,omitempty"`
	TOTPEnabled   bool   `json:"totp_enabled"`
	RecoveryCodes int    `json:"recovery_codes_left"`
	Passkeys      int    `json:"passkeys"`
	Email         string `json:"email,omitempty"`
	Mobile        string `json:"mobile,omitempty"`
	Created       int64  `json:"created"`
	Timezone      string `json:"timezone,omitempty"`
}

func viewUser(u store.User) userView {
	return userView{ID: u.ID, Username: u.Username, Role: u.Role, CustomerID: u.CustomerID,
		TOTPEnabled: u.TOTPEnabled, RecoveryCodes: len(u.RecoveryCodes), Passkeys: len(u.Passkeys), Created: u.Created, Timezone: u.Timezone,
		Email: u.Email, Mobile: u.Mobile}
}

// userInput is the body of POST and PUT /users. On PUT an empty password
// keeps the old one, and reset_totp turns two-factor off.
type userInput struct {
	Username   string `json:"username"`
	Password   string `json:"password,omitempty"`
	Role       string `json:"role"`
	CustomerID string `json:"customer_id,omitempty"`
	ResetTOTP  bool   `json:"reset_totp,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
}

func validPassword(field, pw string) error {
	if len(pw) < minPasswordLen || len(pw) > 1024 {
		return errInvalid(field, "must be %d to 1024 characters", minPasswordLen)
	}
	return nil
}

// checkRole validates role and customer id, and that the customer exists.
func (s *Server) checkRole(ctx context.Context, in *userInput) error {
	if err := oneOf("role", &in.Role, RoleReadOnly, RoleAdmin, RoleReadOnly, RoleCustomer); err != nil {
		return err
	}
	if in.Role != RoleCustomer {
		if in.CustomerID != "" {
			return errInvalid("customer_id", "only a %q user has a customer", RoleCustomer)
		}
		return nil
	}
	if in.CustomerID == "" {
		return errInvalid("customer_id", "required for role %q", RoleCustomer)
	}
	if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", in.CustomerID); err != nil {
		if isNotFoundErr(err) {
			return errInvalid("customer_id", "customer %q does not exist", in.CustomerID)
		}
		return err
	}
	return nil
}

func isNotFoundErr(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == CodeNotFound
}

func userByName(ctx context.Context, st store.Store, name string) (store.User, bool, error) {
	us, err := listWhere(ctx, st, store.Users, func(u store.User) bool { return u.Username == name })
	if err != nil || len(us) == 0 {
		return store.User{}, false, err
	}
	return us[0], true, nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in userInput
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := validName("username", in.Username); err != nil {
		return err
	}
	if err := validPassword("password", in.Password); err != nil {
		return err
	}
	hash := auth.HashPassword(in.Password, s.argon())
	var u store.User
	err := s.write(r, func(ctx context.Context) error {
		if err := s.checkRole(ctx, &in); err != nil {
			return err
		}
		if _, dup, err := userByName(ctx, s.st, in.Username); err != nil || dup {
			if err != nil {
				return err
			}
			return errConflict("username", "user %q exists", in.Username)
		}
		if err := validTimezone("timezone", in.Timezone); err != nil {
			return err
		}
		u = store.User{ID: store.NewID(), Username: in.Username, Role: in.Role, CustomerID: in.CustomerID,
			PasswordHash: hash, Created: time.Now().Unix(), Timezone: in.Timezone}
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, viewUser(u))
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := store.ListJSON[store.User](r.Context(), s.st, store.Users)
	if err != nil {
		return err
	}
	out := make([]userView, 0, len(us))
	for _, u := range us {
		out = append(out, viewUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := load[store.User](r.Context(), s.st, store.Users, "user", r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

// userPatch is the body of PUT /users/{id}: only the fields sent change.
// An empty password keeps the old one, and reset_totp turns two-factor
// off.
type userPatch struct {
	Username   *string `json:"username"`
	Password   string  `json:"password,omitempty"`
	Role       *string `json:"role"`
	CustomerID *string `json:"customer_id"`
	ResetTOTP  bool    `json:"reset_totp,omitempty"`
	Timezone   *string `json:"timezone"`
}

// putUser changes a user's role, customer, password (when given) and can
// reset two-factor; fields not sent keep their values. The username cannot
// change. A new password or a two-factor reset revokes the user's tokens.
func (s *Server) putUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var in userPatch
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	var hash string
	if in.Password != "" {
		if err := validPassword("password", in.Password); err != nil {
			return err
		}
		hash = auth.HashPassword(in.Password, s.argon())
	}
	var u store.User
	revoked := 0
	err := s.write(r, func(ctx context.Context) error {
		var err error
		if u, err = load[store.User](ctx, s.st, store.Users, "user", id); err != nil {
			return err
		}
		if in.Username != nil && *in.Username != u.Username {
			return errInvalid("username", "cannot change")
		}
		role := userInput{Role: u.Role, CustomerID: u.CustomerID}
		if in.Role != nil {
			role.Role = *in.Role
			if role.Role != RoleCustomer && in.CustomerID == nil {
				role.CustomerID = "" // leaving the customer role leaves its customer
			}
		}
		if in.CustomerID != nil {
			role.CustomerID = *in.CustomerID
		}
		if err := s.checkRole(ctx, &role); err != nil {
			return err
		}
		u.Role, u.CustomerID = role.Role, role.CustomerID
		if in.Timezone != nil {
			if err := validTimezone("timezone", *in.Timezone); err != nil {
				return err
			}
			u.Timezone = *in.Timezone
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if in.ResetTOTP {
			u.TOTPSecret, u.TOTPEnabled, u.RecoveryCodes, u.TOTPLastStep = "", false, nil, 0
		}
		if hash != "" || in.ResetTOTP {
			// An account taken back: the passkeys enrolled meanwhile go too.
			u.Passkeys, u.WebAuthnHandle = nil, ""
		}
		if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil {
			return err
		}
		if hash != "" || in.ResetTOTP {
			revoked, err = s.revokeTokens(ctx, u.ID, principalOf(r).tokenID)
		}
		return err
	})
	if err != nil {
		return err
	}
	if revoked > 0 {
		s.log.Info("user's tokens revoked: credentials changed", "user", u.ID, "tokens", revoked)
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

// revokeTokens deletes the tokens of user userID but the one with id
// except (the caller's own, when it changed its own credentials), and
// returns how many. Called inside s.write.
func (s *Server) revokeTokens(ctx context.Context, userID, except string) (int, error) {
	toks, err := listWhere(ctx, s.st, store.Tokens, func(t store.Token) bool { return t.UserID == userID && t.ID != except })
	if err != nil {
		return 0, err
	}
	for _, t := range toks {
		if err := s.st.Delete(ctx, store.Tokens, t.ID); err != nil && !isNotFound(err) {
			return 0, err
		}
	}
	return len(toks), nil
}

// deleteUser removes a user and revokes its tokens.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.write(r, func(ctx context.Context) error {
		if err := remove(ctx, s.st, store.Users, "user", id); err != nil {
			return err
		}
		_, err := s.revokeTokens(ctx, id, "")
		return err
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setMyTimezone serves PUT /api/v1/me/timezone {"timezone": "Europe/Paris"}:
// the caller's own timezone ("" for the switch's).
func (s *Server) setMyTimezone(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Timezone string `json:"timezone"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := validTimezone("timezone", in.Timezone); err != nil {
		return err
	}
	var u store.User
	// A display preference: no table reload (s.locked, not s.write).
	err := s.locked(r, func(ctx context.Context) error {
		var err error
		if u, err = load[store.User](ctx, s.st, store.Users, "user", p.userID); err != nil {
			return err
		}
		u.Timezone = in.Timezone
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

// setMyProfile serves PUT /api/v1/me/profile {"email", "mobile"}: the
// caller's contact details ("" clears one); the mobile number is E.164
// (+ and 7 to 15 digits, no leading 0).
func (s *Server) setMyProfile(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Email  string `json:"email"`
		Mobile string `json:"mobile"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	in.Email, in.Mobile = strings.TrimSpace(in.Email), strings.TrimSpace(in.Mobile)
	if in.Email != "" {
		a, err := mail.ParseAddress(in.Email)
		if err != nil || a.Address != in.Email || len(in.Email) > 254 {
			return errInvalid("email", "must be an address such as noc@example.com")
		}
	}
	if in.Mobile != "" && !validE164(in.Mobile) {
		return errInvalid("mobile", "must be E.164: + then the country code and number, 7 to 15 digits (+447700900123)")
	}
	var u store.User
	err := s.locked(r, func(ctx context.Context) error {
		var err error
		if u, err = load[store.User](ctx, s.st, store.Users, "user", p.userID); err != nil {
			return err
		}
		u.Email, u.Mobile = in.Email, in.Mobile
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

// validE164 tells whether n is an E.164 number: +, a non-zero digit, 6 to
// 14 more digits.
func validE164(n string) bool {
	if len(n) < 8 || len(n) > 16 || n[0] != '+' || n[1] < '1' || n[1] > '9' {
		return false
	}
	return isDigits(n[1:])
}
