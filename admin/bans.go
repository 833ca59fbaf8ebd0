package admin

import (
	"net/http"
	"net/netip"
)

func (s *Server) listBans(w http.ResponseWriter, r *http.Request) error {
	if s.idn.bans == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no ban table on this server")
	}
	writeJSON(w, http.StatusOK, map[string]any{"bans": s.idn.bans.List()})
	return nil
}

// liftBan lifts the ban of {ip} at once.
func (s *Server) liftBan(w http.ResponseWriter, r *http.Request) error {
	if s.idn.bans == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no ban table on this server")
	}
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		return errInvalid("ip", "%q is not an IP address", r.PathValue("ip"))
	}
	was, err := s.idn.bans.Lift(ip)
	if err != nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "ban of %s: %v", ip, err)
	}
	if !was {
		return errNotFound("ban", ip.String())
	}
	s.log.Info("ban lifted", "ip", ip.String(), "token", principalOf(r).tokenID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
