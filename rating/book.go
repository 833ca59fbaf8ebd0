package rating

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Book holds the live cards by id. Readers (Get) are lock-free and never
// block; writers (Swap, Delete) copy the map under a mutex and publish it
// atomically, so a reader sees either the old card or the new one, never a
// half-built one. Build a new card off the live path (NewCard, ImportCSV,
// Derive), then Swap it in. The zero Book is empty and ready to use.
type Book struct {
	mu    sync.Mutex
	cards atomic.Pointer[map[string]*Card]
}

// Get returns the live card with id, or nil.
func (b *Book) Get(id string) *Card {
	m := b.cards.Load()
	if m == nil {
		return nil
	}
	return (*m)[id]
}

// Swap publishes c under c.Settings().ID, replacing any card with that id,
// and returns the card it replaced (or nil).
func (b *Book) Swap(c *Card) (old *Card) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := make(map[string]*Card)
	if m := b.cards.Load(); m != nil {
		next = maps.Clone(*m)
		old = next[c.set.ID]
	}
	next[c.set.ID] = c
	b.cards.Store(&next)
	return old
}

// Delete removes the card with id, if any.
func (b *Book) Delete(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.cards.Load()
	if m == nil {
		return
	}
	if _, ok := (*m)[id]; !ok {
		return
	}
	next := maps.Clone(*m)
	delete(next, id)
	b.cards.Store(&next)
}

// IDs returns the ids of the live cards, in no particular order.
func (b *Book) IDs() []string {
	m := b.cards.Load()
	if m == nil {
		return nil
	}
	return slices.Collect(maps.Keys(*m))
}
