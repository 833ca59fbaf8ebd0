// Package webtest is test support: a headless Chromium for the control
// panel's browser tests (web and cmd/trunkline).
package webtest
