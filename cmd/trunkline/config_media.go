package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/trunkline/trunkline/media"
	"github.com/trunkline/trunkline/sip"
)

// Media relay defaults (rtpengine's port range and timeout).
const (
	DefaultMediaPortMin     = 30000
	DefaultMediaPortMax     = 40000
	DefaultMediaTimeout     = sip.DefaultMediaTimeout // 60s
	DefaultMediaHoldTimeout = sip.DefaultHoldTimeout  // 1h
)

// MediaConfig configures the RTP relay. Which calls use it is each
// customer's and carrier's media_relay setting: by default the calls of
// customers behind NAT (their SDP names a private address that is not
// where their signalling comes from).
type MediaConfig struct {
	// Enabled makes the relay available (default true); without it no
	// call is relayed, whatever its customer or carrier says.
	Enabled *bool `yaml:"enabled"`
	// Address is the IP the relay's ports are bound to (default 0.0.0.0,
	// every IPv4 address).
	Address string `yaml:"address"`
	// Advertise is the IP the SDP gives the parties (default: sip.advertise,
	// an IP or the first IPv4 address its name resolves to, else the SIP
	// listen IP, else 127.0.0.1, which only parties on this machine can
	// reach: the switch warns). Behind 1:1 NAT it is the public address.
	Advertise string `yaml:"advertise"`
	// PortMin and PortMax bound the relay's UDP ports (default
	// 30000–40000); each relayed call takes four (RTP and RTCP per leg).
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`
	// Timeout ends an answered relayed call that has had no media either
	// way for so long, with a BYE on both legs (default 60s); HoldTimeout
	// does while a party holds the call (sendonly, inactive; default 1h).
	Timeout     time.Duration `yaml:"timeout"`
	HoldTimeout time.Duration `yaml:"hold_timeout"`
}

func (c *MediaConfig) defaults(s SIPConfig) {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
	if c.Address == "" {
		c.Address = "0.0.0.0"
	}
	if c.Advertise == "" {
		c.Advertise = "127.0.0.1"
		host, _, _ := net.SplitHostPort(s.Listen)
		if a, err := netip.ParseAddr(s.Advertise); err == nil {
			c.Advertise = a.String()
		} else if a, ok := resolve4(s.Advertise); ok {
			c.Advertise = a.String()
		} else if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			c.Advertise = a.String()
		}
	}
	if c.PortMin == 0 {
		c.PortMin = DefaultMediaPortMin
	}
	if c.PortMax == 0 {
		c.PortMax = DefaultMediaPortMax
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultMediaTimeout
	}
	if c.HoldTimeout == 0 {
		c.HoldTimeout = DefaultMediaHoldTimeout
	}
}

func (c *MediaConfig) validate(bad func(field, format string, args ...any)) {
	bind, err := netip.ParseAddr(c.Address)
	if err != nil {
		bad("media.address", "%q is not an IP address", c.Address)
	}
	adv, err := netip.ParseAddr(c.Advertise)
	if err != nil || adv.IsUnspecified() {
		bad("media.advertise", "%q is not an IP address parties can send to", c.Advertise)
	} else if bind.IsValid() && !bind.IsUnspecified() && bind.Is4() != adv.Is4() {
		bad("media.advertise", "%s is not of media.address's family (%s)", adv, bind)
	}
	if lo := c.PortMin + c.PortMin%2; c.PortMin < 1024 || c.PortMax > 65535 || (c.PortMax-lo+1)/2 < 2 {
		bad("media.port_min", "%d..%d: want 1024 <= port_min <= port_max <= 65535 holding two RTP/RTCP pairs (one call) at least", c.PortMin, c.PortMax)
	}
	if c.Timeout < time.Second || c.Timeout > time.Hour {
		bad("media.timeout", "%s is outside 1s..1h", c.Timeout)
	}
	if c.HoldTimeout < c.Timeout || c.HoldTimeout > 48*time.Hour {
		bad("media.hold_timeout", "%s is outside media.timeout (%s)..48h", c.HoldTimeout, c.Timeout)
	}
}

// resolve4 is the first IPv4 address of a host name.
func resolve4(host string) (netip.Addr, bool) {
	if host == "" {
		return netip.Addr{}, false
	}
	addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, false
	}
	return addrs[0].Unmap(), true
}

// unreachable is why parties elsewhere cannot reach the relay at its
// advertised address, or "": a loopback address on a switch that listens
// beyond its own machine.
func (c *MediaConfig) unreachable(s SIPConfig) string {
	adv, err := netip.ParseAddr(c.Advertise)
	host, _, _ := net.SplitHostPort(s.Listen)
	sipAddr, serr := netip.ParseAddr(host)
	if err != nil || !*c.Enabled || !adv.IsLoopback() || (serr == nil && sipAddr.IsLoopback()) {
		return ""
	}
	return "media.advertise is " + adv.String() + ": parties on other machines cannot reach the media relay; set media.advertise (or sip.advertise) to the switch's address"
}

// relay opens the relay's ports as the configuration says; nil when it is
// off.
func (c *MediaConfig) relay() (*sip.MediaRelay, error) {
	if !*c.Enabled {
		return nil, nil
	}
	ports, err := media.NewPorts(netip.MustParseAddr(c.Address), c.PortMin, c.PortMax)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return &sip.MediaRelay{Ports: ports, Advertise: netip.MustParseAddr(c.Advertise), Timeout: c.Timeout, HoldTimeout: c.HoldTimeout}, nil
}
