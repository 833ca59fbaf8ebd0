package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// Run runs the conformance suite as subtests of t.
//
// open must return a store whose data belongs to the test it is given: the
// first call for a test yields empty storage, and a later call for the same
// test, after the earlier store was closed, must reopen the same data (the
// persistence subtest relies on that). Backends that cannot reopen their data
// should still give every test empty storage; the persistence subtest then
// fails, which tells the truth. open registers its own cleanup with t;
// Run may also close a store itself, so Close must tolerate a second call.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"EmptyKey", testEmptyKey},
		{"ListEmpty", testListEmpty},
		{"ListOrder", testListOrder},
		{"Collections", testCollections},
		{"Copies", testCopies},
		{"JSON", testJSON},
		{"Canceled", testCanceled},
		{"Concurrent", testConcurrent},
		{"Persistence", testPersistence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func testGetMissing(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	if _, err := s.Get(ctx, "never", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get in unknown collection: err = %v, want ErrNotFound", err)
	}
	mustPut(t, s, "c", "a", `{"a":1}`)
	if _, err := s.Get(ctx, "c", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get unknown id: err = %v, want ErrNotFound", err)
	}
}

func testPutGet(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustPut(t, s, "c", "a", `{"a":1}`)
	mustGet(t, s, "c", "a", `{"a":1}`)
	mustPut(t, s, "c", "empty", ``)
	mustGet(t, s, "c", "empty", ``)
}

func testReplace(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustPut(t, s, "c", "a", `{"v":1}`)
	mustPut(t, s, "c", "a", `{"v":2,"longer":true}`)
	mustGet(t, s, "c", "a", `{"v":2,"longer":true}`)
	mustPut(t, s, "c", "a", `{}`)
	mustGet(t, s, "c", "a", `{}`)
	mustList(t, s, "c", "a")
}

func testDelete(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	mustPut(t, s, "c", "a", `1`)
	mustPut(t, s, "c", "b", `2`)
	if err := s.Delete(ctx, "c", "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "c", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	mustList(t, s, "c", "b")
	mustPut(t, s, "c", "a", `3`) // a deleted id can be written again
	mustGet(t, s, "c", "a", `3`)
}

func testDeleteMissing(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	if err := s.Delete(ctx, "never", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete in unknown collection: err = %v, want ErrNotFound", err)
	}
	mustPut(t, s, "c", "a", `1`)
	if err := s.Delete(ctx, "c", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete unknown id: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "c", "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, "c", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
}

func testEmptyKey(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	for _, k := range [][2]string{{"", "a"}, {"c", ""}} {
		if err := s.Put(ctx, k[0], k[1], []byte(`1`)); !errors.Is(err, store.ErrEmptyKey) {
			t.Errorf("Put(%q, %q): err = %v, want ErrEmptyKey", k[0], k[1], err)
		}
		if _, err := s.Get(ctx, k[0], k[1]); !errors.Is(err, store.ErrEmptyKey) {
			t.Errorf("Get(%q, %q): err = %v, want ErrEmptyKey", k[0], k[1], err)
		}
		if err := s.Delete(ctx, k[0], k[1]); !errors.Is(err, store.ErrEmptyKey) {
			t.Errorf("Delete(%q, %q): err = %v, want ErrEmptyKey", k[0], k[1], err)
		}
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, store.ErrEmptyKey) {
		t.Errorf("List(\"\"): err = %v, want ErrEmptyKey", err)
	}
}

func testListEmpty(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	docs, err := s.List(t.Context(), "never")
	if err != nil || len(docs) != 0 {
		t.Errorf("List of unknown collection = %v, %v; want none, nil", docs, err)
	}
}

func testListOrder(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	for _, id := range []string{"m", "b", "z", "a", "B", "aa", "0", "a0", "~"} {
		mustPut(t, s, "c", id, `"`+id+`"`)
	}
	docs := mustList(t, s, "c", "0", "B", "a", "a0", "aa", "b", "m", "z", "~")
	for _, d := range docs {
		if want := `"` + d.ID + `"`; string(d.Data) != want {
			t.Errorf("List: %s has %s, want %s", d.ID, d.Data, want)
		}
	}
}

func testCollections(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustPut(t, s, "one", "x", `1`)
	mustPut(t, s, "two", "x", `2`)
	mustGet(t, s, "one", "x", `1`)
	mustGet(t, s, "two", "x", `2`)
	if err := s.Delete(t.Context(), "one", "x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustGet(t, s, "two", "x", `2`)
	mustList(t, s, "one")
	mustList(t, s, "two", "x")
}

func testCopies(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	in := []byte(`{"a":1}`)
	if err := s.Put(ctx, "c", "a", in); err != nil {
		t.Fatal(err)
	}
	in[2] = 'X' // the caller may reuse its buffer
	got, err := s.Get(ctx, "c", "a")
	if err != nil {
		t.Fatal(err)
	}
	got[2] = 'Y' // and may change what it was given
	mustGet(t, s, "c", "a", `{"a":1}`)
	docs := mustList(t, s, "c", "a")
	docs[0].Data[2] = 'Z'
	mustGet(t, s, "c", "a", `{"a":1}`)
}

func testJSON(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	in := store.Customer{ID: "c1", Name: "Acme", Currency: "EUR", Status: "active", ChannelLimit: 30}
	if err := store.PutJSON(ctx, s, store.Customers, in.ID, in); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetJSON[store.Customer](ctx, s, store.Customers, "c1")
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Errorf("GetJSON = %+v, %v; want %+v", got, err, in)
	}
	list, err := store.ListJSON[store.Customer](ctx, s, store.Customers)
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], in) {
		t.Errorf("ListJSON = %+v, %v", list, err)
	}
	if _, err := store.GetJSON[store.Customer](ctx, s, store.Customers, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJSON missing: err = %v, want ErrNotFound", err)
	}
}

func testCanceled(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustPut(t, s, "c", "a", `1`)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, "c", "b", []byte(`2`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with canceled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "c", "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with canceled context: err = %v, want context.Canceled", err)
	}
	mustList(t, s, "c", "a")
}

// testConcurrent writes, reads, lists and deletes from many goroutines; run
// it with -race. Every writer owns its ids, so the end state is known.
func testConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%03d", w, i)
				val := []byte(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				if err := s.Put(ctx, "c", id, val); err != nil {
					errs <- err
					continue
				}
				if got, err := s.Get(ctx, "c", id); err != nil || !bytes.Equal(got, val) {
					errs <- fmt.Errorf("Get %s = %s, %v; want %s", id, got, err, val)
				}
				if _, err := s.List(ctx, "c"); err != nil {
					errs <- err
				}
				if i%2 == 1 {
					if err := s.Delete(ctx, "c", id); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	docs, err := s.List(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * (each + 1) / 2; len(docs) != want {
		t.Errorf("after concurrent writes: %d documents, want %d", len(docs), want)
	}
}

func testPersistence(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustPut(t, s, "c", "a", `{"kept":true}`)
	mustPut(t, s, "c", "b", `{"gone":true}`)
	mustPut(t, s, "d", "x", `1`)
	if err := s.Delete(t.Context(), "c", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t)
	mustGet(t, s, "c", "a", `{"kept":true}`)
	mustList(t, s, "c", "a")
	mustList(t, s, "d", "x")
}

func mustPut(t *testing.T, s store.Store, coll, id, data string) {
	t.Helper()
	if err := s.Put(t.Context(), coll, id, []byte(data)); err != nil {
		t.Fatalf("Put(%s, %s): %v", coll, id, err)
	}
}

func mustGet(t *testing.T, s store.Store, coll, id, want string) {
	t.Helper()
	got, err := s.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", coll, id, err)
	}
	if string(got) != want {
		t.Errorf("Get(%s, %s) = %q, want %q", coll, id, got, want)
	}
}

func mustList(t *testing.T, s store.Store, coll string, ids ...string) []store.Doc {
	t.Helper()
	docs, err := s.List(t.Context(), coll)
	if err != nil {
		t.Fatalf("List(%s): %v", coll, err)
	}
	got := make([]string, len(docs))
	for i, d := range docs {
		got[i] = d.ID
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("List(%s) ids = %q, want %q", coll, got, ids)
	}
	return docs
}
