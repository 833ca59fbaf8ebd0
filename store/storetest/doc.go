// Package storetest is the conformance suite every store.Store,
// store.Credit and store.Limits backend must pass. A backend's own test
// calls Run (and RunCredit, RunLimits) with a function that opens it:
//
//	func TestEmbedded(t *testing.T) {
//		storetest.Run(t, openEmbedded)
//	}
package storetest
