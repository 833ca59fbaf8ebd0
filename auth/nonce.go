package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"sync"
	"time"
)

// Nonce layout before base64url: issued (unix ns, 8 bytes) | random (8
// bytes) | HMAC-SHA256(key, realm | issued | random) truncated to 16 bytes.
const (
	nonceRawLen = 8 + 8 + 16
	nonceLen    = (nonceRawLen*8 + 5) / 6 // unpadded base64
)

// nonces issues stateless HMAC-signed nonces and remembers, for each nonce
// that has been used, the highest nonce count seen, so that a request
// repeating a count is a replay. The table is bounded: when it is full, the
// oldest nonces are forgotten and every nonce issued up to the newest of
// them is from then on treated as stale, so forgetting never opens a
// replay.
type nonces struct {
	key []byte
	ttl time.Duration
	max int
	now func() time.Time

	mu        sync.Mutex
	seen      map[string]ncEntry // by the nonce's issued|random part
	watermark int64              // nonces issued at or before this (unix ns) and not in seen are stale
}

type ncEntry struct {
	issued int64
	nc     uint32
}

func newNonces(key []byte, ttl time.Duration, max int, now func() time.Time) *nonces {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	return &nonces{key: key, ttl: ttl, max: max, now: now, seen: make(map[string]ncEntry)}
}

func (n *nonces) sign(realm string, head []byte) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte(realm))
	m.Write([]byte{0})
	m.Write(head)
	return m.Sum(nil)[:16]
}

// issue returns a new nonce for realm.
func (n *nonces) issue(realm string) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(n.now().UnixNano()))
	rand.Read(raw[8:16])
	copy(raw[16:], n.sign(realm, raw[:16]))
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// nonceState is what checking a nonce found.
type nonceState int

const (
	nonceForged nonceState = iota // not issued by us for this realm
	nonceFresh
	nonceExpired
)

// check tells whether nonce was issued by us for realm and is still fresh.
// It does not consume the nonce; use accept for that, once the response
// is known to be right.
func (n *nonces) check(realm, nonce string) nonceState {
	if len(nonce) != nonceLen {
		return nonceForged
	}
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceRawLen {
		return nonceForged
	}
	if !hmac.Equal(raw[16:], n.sign(realm, raw[:16])) {
		return nonceForged
	}
	issued := int64(binary.BigEndian.Uint64(raw[:8]))
	age := n.now().UnixNano() - issued
	if age < -int64(time.Minute) || age > int64(n.ttl) {
		return nonceExpired
	}
	return nonceFresh
}

// accept records nc for a fresh, signed nonce. It reports false for a
// replay (nc not above the last seen for this nonce) and stale true when
// the nonce is too old to be tracked any more.
func (n *nonces) accept(nonce string, nc uint32) (ok, stale bool) {
	raw, _ := base64.RawURLEncoding.DecodeString(nonce)
	id := string(raw[:16])
	issued := int64(binary.BigEndian.Uint64(raw[:8]))
	n.mu.Lock()
	defer n.mu.Unlock()
	e, found := n.seen[id]
	if !found {
		if issued <= n.watermark {
			return false, true
		}
		if len(n.seen) >= n.max {
			n.evict()
		}
		n.seen[id] = ncEntry{issued: issued, nc: nc}
		return true, false
	}
	if nc <= e.nc {
		return false, false
	}
	e.nc = nc
	n.seen[id] = e
	return true, false
}

// evict drops expired entries and, if that is not enough, the oldest tenth,
// raising the watermark past them. Called with mu held.
func (n *nonces) evict() {
	cutoff := n.now().UnixNano() - int64(n.ttl)
	for id, e := range n.seen {
		if e.issued < cutoff {
			delete(n.seen, id)
		}
	}
	if cutoff > n.watermark {
		n.watermark = cutoff
	}
	if len(n.seen) < n.max*9/10 {
		return
	}
	times := make([]int64, 0, len(n.seen))
	for _, e := range n.seen {
		times = append(times, e.issued)
	}
	slices.Sort(times)
	limit := times[len(times)/10]
	for id, e := range n.seen {
		if e.issued <= limit {
			delete(n.seen, id)
		}
	}
	if limit > n.watermark {
		n.watermark = limit
	}
}

// size returns the number of tracked nonces.
func (n *nonces) size() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}
