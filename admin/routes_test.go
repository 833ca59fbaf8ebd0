package admin_test

import (
	"sync"
	"testing"
)

// TestConcurrentWrites races requests that conflict: exactly one of them
// may win, because the server serialises its check-then-write steps.
func TestConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			codes <- e.req("POST", "/api/v1/customers/"+f.customer+"/routes", map[string]any{"prefix": "7", "card_id": f.card}).Code
		})
	}
	wg.Wait()
	close(codes)
	won := 0
	for c := range codes {
		switch c {
		case 201:
			won++
		case 409:
		default:
			t.Errorf("status %d", c)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d identical routes were created, want 1", won, n)
	}
}
