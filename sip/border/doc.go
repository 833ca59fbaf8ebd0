// Package border is what may cross the switch from one leg of a call to the
// other: the header policy per direction and the checks every value that
// crosses must pass. The switch owns both legs of a call (see package sip):
// it builds each message it sends from its own identifiers and copies only
// what this package lets through, after checking it.
//
//   - policy.go: which headers cross, per direction; the ones that never do.
//   - check.go: syntax checks for the values and bodies that cross (no
//     control bytes, bounded lengths, per-header grammar, SDP).
//   - identity.go: caller identity (From display name and user, P-Asserted-
//     Identity) rewritten so that no host of one side reaches the other.
//
// Nothing here knows about transactions or sockets; every function is pure
// and safe for concurrent use.
package border
