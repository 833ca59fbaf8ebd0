package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// BenchmarkCustomersPage10k renders the customers page (every customer
// with its balance and warnings) with 10,000 customers in the store.
//
//	go test ./web -run XXX -bench CustomersPage -benchtime 20x
func BenchmarkCustomersPage10k(b *testing.B) {
	srv, _, st := panelStore(b)
	ctx := context.Background()
	for i := range 10_000 {
		c := store.Customer{ID: fmt.Sprintf("c%05d", i), Name: fmt.Sprintf("Customer %d", i), Currency: "EUR", Status: "active"}
		if err := store.PutJSON(ctx, st, store.Customers, c.ID, c); err != nil {
			b.Fatal(err)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(srv.URL + "/login")
	if err != nil {
		b.Fatal(err)
	}
	page := readAll(res)
	csrf := csrfRE.FindStringSubmatch(page)[1]
	res, err = c.PostForm(srv.URL+"/login", url.Values{"csrf": {csrf}, "username": {"ops"}, "password": {"a long password"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	b.ResetTimer()
	for range b.N {
		res, err := c.Get(srv.URL + "/customers")
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("customers page: %v %v", res.Status, err)
		}
		readAll(res)
	}
}
