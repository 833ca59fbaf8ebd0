// Package web is the control panel: server-rendered pages (html/template,
// assets embedded in the binary) over the admin API's own handlers and
// permissions. A page never touches the store: it calls the API in
// process with the signed-in user's token, so what a user may see and do
// is exactly what the API lets that token see and do.
//
// Sessions live in the server's memory (a random id in an HttpOnly,
// SameSite=Strict cookie, Secure over TLS) and hold the API token a
// sign-in issued; signing out revokes it. Every form carries a CSRF token
// checked against the session (or, before sign-in, a double-submit
// cookie), and every page is sent with a strict Content-Security-Policy:
// no inline script, nothing from another origin.
package web
