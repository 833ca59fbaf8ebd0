// Package media will hold the optional RTP relay (github.com/pion/rtp): SDP
// rewriting so media flows through the switch, per-call RTP statistics and
// an RTP timeout that ends dead calls. Nothing is built here yet; the switch
// relays signalling only and media flows end to end between the parties.
package media
