package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// The embedded ledger's layout in the bbolt file. Its buckets' names start
// with creditBucketPrefix, which document collections may not use; each
// holds a nested bucket per account (small ones are stored inline in their
// parent's page, so an account costs little more than its name):
//
//	credit.entries / account / seq (8 bytes, big-endian) → entry
//	credit.posted  / account / entry key → total posted (varint)
//
// The account's balance and last seq are its last entry's: no separate
// record can disagree with the ledger.
const creditBucketPrefix = "credit."

var (
	creditEntries = []byte(creditBucketPrefix + "entries")
	creditPosted  = []byte(creditBucketPrefix + "posted")
)

// entryFormat is the first byte of a stored entry, for a later change.
const entryFormat = 1

// errCorrupt is returned for a stored value this code cannot decode.
var errCorrupt = errors.New("corrupt credit record")

// creditFill is the fill percent of ledger pages: entries are appended in
// key order, so pages split full rather than half empty.
const creditFill = 0.9

// postResult is what one Post did: the entry it appended (Seq 0 when none)
// and the account's ledger state after it.
type postResult struct {
	entry   Entry
	balance int64
	seq     uint64
}

// postTx is Post's transaction: it appends e.Amount minus the total already
// posted under e.Key, stamped at, unless that is 0.
func postTx(tx *bolt.Tx, acct string, e Entry, at int64) (postResult, error) {
	bal, seq, err := ledgerTip(tx, acct)
	if err != nil {
		return postResult{}, err
	}
	posted, known, err := postedTotal(tx, acct, e.Key)
	if err != nil {
		return postResult{}, err
	}
	diff := e.Amount - posted // both within ±MaxAmount: no overflow
	if !inRange(bal + diff) {
		return postResult{}, fmt.Errorf("%w: the balance of %q would pass ±%d", ErrBadAmount, acct, MaxAmount)
	}
	if diff == 0 {
		if !known {
			// A first total of 0 (a free call) is remembered: what is
			// posted later under the key is a correction of it.
			totals, err := accountBucket(tx, creditPosted, acct)
			if err != nil {
				return postResult{}, err
			}
			if err := totals.Put([]byte(e.Key), binary.AppendVarint(nil, 0)); err != nil {
				return postResult{}, err
			}
		}
		return postResult{balance: bal, seq: seq}, nil
	}
	out := Entry{Seq: seq + 1, At: at, Kind: e.Kind, Key: e.Key, Amount: diff, Balance: bal + diff, Reason: e.Reason}
	entries, err := accountBucket(tx, creditEntries, acct)
	if err != nil {
		return postResult{}, err
	}
	entries.FillPercent = creditFill
	if err := entries.Put(seqKey(out.Seq), appendEntry(nil, out)); err != nil {
		return postResult{}, err
	}
	totals, err := accountBucket(tx, creditPosted, acct)
	if err != nil {
		return postResult{}, err
	}
	totals.FillPercent = creditFill // keys that start with a time are appended too
	if err := totals.Put([]byte(e.Key), binary.AppendVarint(nil, e.Amount)); err != nil {
		return postResult{}, err
	}
	return postResult{entry: out, balance: out.Balance, seq: out.Seq}, nil
}

// ledgerTip returns the balance and seq of acct's last entry (0, 0 for an
// account without entries).
func ledgerTip(tx *bolt.Tx, acct string) (int64, uint64, error) {
	b := readBucket(tx, creditEntries, acct)
	if b == nil {
		return 0, 0, nil
	}
	k, v := b.Cursor().Last()
	if k == nil {
		return 0, 0, nil
	}
	if len(k) != 8 || len(v) == 0 || v[0] != entryFormat {
		return 0, 0, fmt.Errorf("last entry %x of account %q: %w", k, acct, errCorrupt)
	}
	bal, n := binary.Varint(v[1:]) // the balance comes first
	if n <= 0 {
		return 0, 0, fmt.Errorf("last entry %x of account %q: %w", k, acct, errCorrupt)
	}
	return bal, binary.BigEndian.Uint64(k), nil
}

// postedTotal returns the total posted under key on acct.
func postedTotal(tx *bolt.Tx, acct, key string) (int64, bool, error) {
	b := readBucket(tx, creditPosted, acct)
	if b == nil {
		return 0, false, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return 0, false, nil
	}
	total, n := binary.Varint(v)
	if n != len(v) {
		return 0, false, fmt.Errorf("total of %q in account %q: %w", key, acct, errCorrupt)
	}
	return total, true, nil
}

// readEntries returns acct's entries with Seq > after, at most limit (all
// when limit ≤ 0).
func readEntries(tx *bolt.Tx, acct string, after uint64, limit int) ([]Entry, error) {
	b := readBucket(tx, creditEntries, acct)
	if b == nil || after == math.MaxUint64 {
		return nil, nil
	}
	var out []Entry
	c := b.Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		e, err := decodeEntry(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// readBucket returns acct's bucket under top, or nil when it has none.
func readBucket(tx *bolt.Tx, top []byte, acct string) *bolt.Bucket {
	t := tx.Bucket(top)
	if t == nil {
		return nil
	}
	return t.Bucket([]byte(acct))
}

// accountBucket returns acct's bucket under top, creating both as needed.
func accountBucket(tx *bolt.Tx, top []byte, acct string) (*bolt.Bucket, error) {
	t, err := tx.CreateBucketIfNotExists(top)
	if err != nil {
		return nil, err
	}
	return t.CreateBucketIfNotExists([]byte(acct))
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// appendEntry appends e's stored form to dst: the format byte, then
// balance, amount and time as varints, then kind, key and reason, each
// prefixed by its length. The seq is the key.
func appendEntry(dst []byte, e Entry) []byte {
	dst = append(dst, entryFormat)
	dst = binary.AppendVarint(dst, e.Balance)
	dst = binary.AppendVarint(dst, e.Amount)
	dst = binary.AppendVarint(dst, e.At)
	for _, s := range [...]string{e.Kind, e.Key, e.Reason} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// decodeEntry reads the entry stored under key k with value v.
func decodeEntry(k, v []byte) (Entry, error) {
	if len(k) != 8 || len(v) == 0 || v[0] != entryFormat {
		return Entry{}, fmt.Errorf("entry %x: %w", k, errCorrupt)
	}
	d := entryDecoder{b: v[1:]}
	e := Entry{Seq: binary.BigEndian.Uint64(k)}
	e.Balance = d.varint()
	e.Amount = d.varint()
	e.At = d.varint()
	e.Kind = d.string()
	e.Key = d.string()
	e.Reason = d.string()
	if d.bad || len(d.b) != 0 {
		return Entry{}, fmt.Errorf("entry %d: %w", e.Seq, errCorrupt)
	}
	return e, nil
}

// entryDecoder reads the fields of a stored entry in turn; bad records that
// one was truncated.
type entryDecoder struct {
	b   []byte
	bad bool
}

func (d *entryDecoder) varint() int64 {
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *entryDecoder) string() string {
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.bad, d.b = true, nil
		return ""
	}
	s := string(d.b[n : n+int(l)])
	d.b = d.b[n+int(l):]
	return s
}
