package sip

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"time"
)

// A transaction that has ended lingers for seconds to absorb
// retransmissions (T4, Timer I/J/K, shortened to Server.linger). At
// thousands of calls a second that is tens of thousands of transactions,
// and held as objects they were most of the live heap and of the
// collector's mark work (each with its timers, strings and closures). So an
// ended transaction is kept as a record of bytes: what a retransmission
// gets, where it goes, and its key to check a hash match against. Records
// are appended to byte slabs in the order they expire and dropped a slab at
// a time; nothing in a slab, nor in the index, is a pointer, so the
// collector never scans them.

// doneTx is what an ended transaction answers retransmissions with.
type doneTx struct {
	final int
	to    hop // server: where its answers went; client: where its request went
	// data is what is sent again: a server transaction's last response,
	// for a retransmitted request; a client INVITE's ACK of its non-2xx
	// final answer, for that answer again; an ACK record's ACK (see
	// answeredDone). Other answers again are absorbed. It points into a
	// slab, which is never written again: read only.
	data []byte
	// ack2xx: a server INVITE answered with a 2xx; an ACK with its key
	// (RFC 2543 style) goes on to the dialog.
	ack2xx bool
	// leg is a carrier INVITE's: what a 2xx nobody waits for is hung up
	// with (see hangUpStray); empty for a re-INVITE's.
	leg legIDs
	// tag is the To tag of an INVITE's first 2xx: that dialog's 2xx again
	// gets its ACK again, never a BYE.
	tag string
	// ack marks the record of an ACK sent (under ackKey), not of a
	// transaction.
	ack bool
}

// legIDs names the carrier leg an INVITE set up: the switch's From on it
// (its tag included), the call's id (the leg's Call-ID) and the carrier.
type legIDs struct {
	local, call, carrier string
}

// doneRef is where a record starts: its slab's sequence number and offset.
type doneRef struct{ slab, off uint32 }

// slabSize is the size of one slab of records (about 1,000 records of a
// short response each).
const slabSize = 256 << 10

// doneTable holds the records of one side's ended transactions, oldest
// first. Its caller holds the lock that guards it.
type doneTable struct {
	// base is when the table was made: times are kept as durations since
	// it, so that they follow the monotonic clock, not the wall clock (a
	// clock stepped back an hour must not keep an hour of records).
	base  time.Time
	seed  maphash.Seed
	index map[uint64]doneRef // hash of the key → its newest record
	slabs [][]byte           // oldest first; records never straddle two
	first uint32             // sequence number of slabs[0]
	read  int                // the sweep's offset in slabs[0]
	n     int                // transactions' records not swept yet
	acks  int                // ACK records not swept yet
}

func newDoneTable() doneTable {
	return doneTable{base: time.Now(), seed: maphash.MakeSeed(), index: map[uint64]doneRef{}}
}

func (d *doneTable) hash(k txKey) uint64 { return maphash.Comparable(d.seed, k) }

// Record layout, little endian: size u32 (whole record), until i64 (ns
// since base), hash u64, final u16, flags u8, then length-prefixed fields:
// branch, sent-by, method, to's address, to's transport, the leg's local,
// call and carrier, the tag (u16 lengths each) and data (u32).
const (
	recHead     = 4 + 8 + 8 + 2 + 1
	recFields   = 9
	flagAck2xx  = 1
	flagAck     = 2
	maxKeyField = 1<<16 - 1
)

// add stores tx's record under k until the time until.
func (d *doneTable) add(k txKey, tx doneTx, until time.Time) {
	fields := [recFields]string{k.branch, k.sentBy, string(k.method), tx.to.addr, tx.to.transport, tx.leg.local, tx.leg.call, tx.leg.carrier, tx.tag}
	size := recHead + 2*recFields + 4 + len(tx.data)
	for _, f := range fields {
		if len(f) > maxKeyField {
			return // parsing bounds these far lower
		}
		size += len(f)
	}
	last := len(d.slabs) - 1
	if last < 0 || cap(d.slabs[last])-len(d.slabs[last]) < size {
		d.slabs = append(d.slabs, make([]byte, 0, max(slabSize, size)))
		last++
	}
	b := d.slabs[last]
	ref := doneRef{slab: d.first + uint32(last), off: uint32(len(b))}
	h := d.hash(k)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint64(b, uint64(until.Sub(d.base)))
	b = binary.LittleEndian.AppendUint64(b, h)
	b = binary.LittleEndian.AppendUint16(b, uint16(tx.final))
	var flags byte
	if tx.ack2xx {
		flags |= flagAck2xx
	}
	if tx.ack {
		flags |= flagAck
	}
	b = append(b, flags)
	for _, f := range fields {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tx.data)))
	b = append(b, tx.data...)
	d.slabs[last] = b
	d.index[h] = ref
	if tx.ack {
		d.acks++
	} else {
		d.n++
	}
}

// find returns the record of k, if one is held.
func (d *doneTable) find(k txKey) (doneTx, bool) {
	ref, ok := d.index[d.hash(k)]
	if !ok {
		return doneTx{}, false
	}
	r := d.record(ref)
	if r == nil {
		return doneTx{}, false
	}
	rest := r[recHead:]
	var fields [recFields][]byte
	for i := range fields {
		n := int(binary.LittleEndian.Uint16(rest))
		fields[i], rest = rest[2:2+n], rest[2+n:]
	}
	if string(fields[0]) != k.branch || string(fields[1]) != k.sentBy || string(fields[2]) != string(k.method) {
		return doneTx{}, false // another key with the same hash
	}
	n := binary.LittleEndian.Uint32(rest)
	tx := doneTx{
		final:  int(binary.LittleEndian.Uint16(r[20:])),
		ack2xx: r[22]&flagAck2xx != 0,
		ack:    r[22]&flagAck != 0,
		tag:    string(fields[8]),
		to:     hop{addr: string(fields[3]), transport: transportName(fields[4])},
	}
	if len(fields[5]) > 0 {
		tx.leg = legIDs{local: string(fields[5]), call: string(fields[6]), carrier: string(fields[7])}
	}
	if n > 0 {
		tx.data = rest[4 : 4+n : 4+n]
	}
	return tx, true
}

// transportName returns the constant for a stored transport name, so that
// reading a record allocates no string for it.
func transportName(b []byte) string {
	switch {
	case bytes.Equal(b, []byte(transportUDP)):
		return transportUDP
	case bytes.Equal(b, []byte(transportTCP)):
		return transportTCP
	}
	return string(b)
}

// record returns the bytes of the record at ref, or nil if it was swept.
func (d *doneTable) record(ref doneRef) []byte {
	i := int(ref.slab - d.first)
	if ref.slab < d.first || i >= len(d.slabs) || (i == 0 && int(ref.off) < d.read) {
		return nil
	}
	s := d.slabs[i]
	size := binary.LittleEndian.Uint32(s[ref.off:])
	return s[ref.off : ref.off+size]
}

// sweep drops the records whose time is up, oldest first.
func (d *doneTable) sweep(now time.Time) {
	t := int64(now.Sub(d.base))
	for len(d.slabs) > 0 {
		s := d.slabs[0]
		for d.read < len(s) {
			r := s[d.read:]
			if int64(binary.LittleEndian.Uint64(r[4:])) > t {
				return
			}
			h := binary.LittleEndian.Uint64(r[12:])
			if d.index[h] == (doneRef{slab: d.first, off: uint32(d.read)}) {
				delete(d.index, h)
			}
			d.read += int(binary.LittleEndian.Uint32(r))
			if r[22]&flagAck != 0 {
				d.acks--
			} else {
				d.n--
			}
		}
		if len(d.slabs) == 1 {
			// The slab records are appended to: readers may hold data
			// in it, so it is dropped whole once full, never rewound.
			if cap(s)-len(s) >= slabSize/4 {
				return
			}
		}
		d.slabs[0] = nil
		d.slabs = d.slabs[1:]
		d.first++
		d.read = 0
	}
}
