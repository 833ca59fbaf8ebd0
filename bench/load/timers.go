package load

// timers holds the pending timers of calls of type C (retransmissions, the
// end of a call's hold) in lanes, one per delay. Every timer of a lane was
// set with the same delay, in time order, so each lane is a FIFO already
// sorted by deadline: setting and firing a timer cost O(1), with no heap.
// The delays in use are few (T1 doubling to T2 or to the transaction
// timeout, the hold). Timers are never cancelled: each carries the seq its
// call had when it was set, and the owner ignores one whose call has moved
// on. Not safe for concurrent use; the owner's lock guards it.
type timers[C any] struct {
	lanes []lane[C]
}

type timer[C any] struct {
	at  int64 // deadline, ns on the owner's clock
	c   C
	seq uint32
}

type lane[C any] struct {
	delay int64
	q     []timer[C]
	head  int
}

// set adds a timer for c that fires delay ns after now (delay > 0).
func (t *timers[C]) set(now, delay int64, c C, seq uint32) {
	for i := range t.lanes {
		if t.lanes[i].delay == delay {
			t.lanes[i].q = append(t.lanes[i].q, timer[C]{at: now + delay, c: c, seq: seq})
			return
		}
	}
	t.lanes = append(t.lanes, lane[C]{delay: delay, q: []timer[C]{{at: now + delay, c: c, seq: seq}}})
}

// expire calls fire for each timer due at now, lane by lane, in deadline
// order within a lane. fire may set new timers.
func (t *timers[C]) expire(now int64, fire func(c C, seq uint32)) {
	for i := 0; i < len(t.lanes); i++ {
		for {
			l := &t.lanes[i] // again each time: fire may add a lane
			if l.head == len(l.q) || l.q[l.head].at > now {
				break
			}
			tm := l.q[l.head]
			l.q[l.head] = timer[C]{} // let the call go
			l.head++
			fire(tm.c, tm.seq)
		}
		l := &t.lanes[i]
		switch {
		case l.head == len(l.q):
			l.q, l.head = l.q[:0], 0
		case l.head >= 4096 && l.head*2 >= len(l.q):
			n := copy(l.q, l.q[l.head:])
			clear(l.q[n:])
			l.q, l.head = l.q[:n], 0
		}
	}
}

// pending returns how many timers are set (fired or not yet ignored).
func (t *timers[C]) pending() int {
	n := 0
	for _, l := range t.lanes {
		n += len(l.q) - l.head
	}
	return n
}
