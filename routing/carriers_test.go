package routing

import (
	"context"
	"net/netip"
	"testing"

	"github.com/trunkline/trunkline/store"
)

func TestIsCarrier(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.PutJSON(ctx, st, store.Carriers, "c1", store.Carrier{ID: "c1", Name: "A", Currency: "USD"}))
	must(store.PutJSON(ctx, st, store.Endpoints, "e1", store.Endpoint{ID: "e1", CarrierID: "c1", Host: "192.0.2.7", Port: 5060}))
	must(store.PutJSON(ctx, st, store.Endpoints, "e2", store.Endpoint{ID: "e2", CarrierID: "c1", Host: "sbc.example.net", Port: 5060}))
	r := NewRouter(st)
	if r.IsCarrier(netip.MustParseAddr("192.0.2.7")) {
		t.Fatal("carrier known before the first reload")
	}
	must(r.Reload(ctx))
	for ip, want := range map[string]bool{"192.0.2.7": true, "::ffff:192.0.2.7": true, "192.0.2.8": false} {
		if got := r.IsCarrier(netip.MustParseAddr(ip)); got != want {
			t.Errorf("IsCarrier(%s) = %v, want %v", ip, got, want)
		}
	}
}
