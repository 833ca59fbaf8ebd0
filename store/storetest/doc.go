// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's own test calls Run with a function that opens it:
//
//	func TestEmbedded(t *testing.T) {
//		storetest.Run(t, openEmbedded)
//	}
package storetest
