// Package auth decides who is calling. IPTable maps a source address (exact
// IP or CIDR, longest prefix first) and an optional tech prefix on the dialled
// number to a customer. Digest authentication, bans and admin identities
// build on it.
package auth
