package routing

import "time"

// AttemptOutcome is how a carrier attempt ended, as the quality gate
// judges it.
type AttemptOutcome struct {
	// Code is the attempt's final status: 2xx when answered, 0 when none
	// came (no response in time, a transport error). The switch's own 408
	// for a callee that rang out counts as the carrier's.
	Code int
	// Rang says the carrier sent 180 Ringing before the end (a 183 alone
	// may be the carrier's own announcement).
	Rang bool
	// PDD is the post-dial delay: from the INVITE to the first such
	// provisional response or the answer; 0 when neither came.
	PDD time.Duration
}

// Answered reports whether the attempt was answered.
func (o AttemptOutcome) Answered() bool { return o.Code >= 200 && o.Code < 300 }

// CarrierFailed reports whether an attempt that was not answered failed by
// the carrier's fault, and so counts against its ASR. The rule: an
// attempt failed by the carrier unless it was answered or ended with the
// callee's own outcome, which another carrier would have met too —
//
//   - 486 Busy Here, 600 Busy Everywhere, 603 Decline, 487 Request
//     Terminated (the caller gave up);
//   - 408 Request Timeout or 480 Temporarily Unavailable after the
//     carrier sent 180 Ringing (no answer).
//
// Everything else is the carrier's: no final response, a transport error,
// any 5xx, a 408 or 480 without ringing (the switch fails over on both), a
// redirect and every other 4xx or 6xx — 404 included: carriers answer 404
// for "no route to destination" (RFC 3398, causes 2 and 3) as well as for
// an unallocated number, and the two cannot be told apart.
func (o AttemptOutcome) CarrierFailed() bool {
	switch o.Code {
	case 408, 480:
		return !o.Rang
	case 486, 487, 600, 603:
		return false
	}
	return !o.Answered()
}

// WithQualityGate demotes an endpoint whose ASR over its last window
// attempts is below minASR (0..1; 0 is off), or whose mean post-dial delay
// over those is above maxPDD (0 is off). The ASR is answered / (answered +
// failed by the carrier): the callee's outcomes (busy, no answer, see
// AttemptOutcome.CarrierFailed) count neither way, and it is judged only
// on at least minSamples answered or failed attempts. The PDD is judged
// once the window holds minSamples attempts, at least half of them with a
// PDD. window below 1 keeps DefaultQualityWindow.
func WithQualityGate(minASR float64, maxPDD time.Duration, window, minSamples int) HealthOption {
	return func(h *Health) {
		h.minASR, h.maxPDD = minASR, maxPDD
		if window > 0 {
			h.window = window
		}
		if minSamples > 0 {
			h.minSamples = minSamples
		}
	}
}

// WithDemotionCooldown sets how long a demotion lasts (values below 1 keep
// DefaultDemotionCooldown). A demoted endpoint is tried only after the
// others, so it gets few attempts and its window would keep the samples
// that demoted it: instead, when the cooldown ends, its window is emptied
// and it is tried again in its place, judged afresh once minSamples new
// attempts have come. Within the cooldown, attempts that lift it above the
// gate end the demotion early; further poor ones do not prolong it.
func WithDemotionCooldown(d time.Duration) HealthOption {
	return func(h *Health) {
		if d > 0 {
			h.cooldown = d
		}
	}
}

// sample is one attempt in an endpoint's window.
type sample struct {
	answered bool
	failed   bool          // by the carrier: AttemptOutcome.CarrierFailed
	pdd      time.Duration // 0: no provisional nor answer
}

// Attempted records the end of a call attempt on the endpoint and
// re-judges its quality (see WithQualityGate and WithDemotionCooldown).
// It implements sip.AttemptSink.
func (h *Health) Attempted(key string, o AttemptOutcome) {
	if h == nil || (h.minASR <= 0 && h.maxPDD <= 0) {
		return
	}
	e := h.get(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := h.now()
	e.endCooldown(now)
	s := sample{answered: o.Answered(), failed: !o.Answered() && o.CarrierFailed(), pdd: o.PDD}
	if len(e.ring) < h.window {
		e.ring = append(e.ring, s)
	} else {
		e.ring[e.next] = s
		e.next = (e.next + 1) % h.window
	}
	q := e.quality()
	poor := (h.minASR > 0 && q.judged >= h.minSamples && q.asr < h.minASR) ||
		(h.maxPDD > 0 && len(e.ring) >= h.minSamples && q.pdds >= h.minSamples/2 && q.meanPDD > h.maxPDD)
	switch {
	case !poor:
		e.demotedUntil.Store(0)
	case e.demotedUntil.Load() == 0:
		e.demotedUntil.Store(now.Add(h.cooldown).UnixNano())
	}
}

// demotedAt reports whether the endpoint is demoted at now.
func (e *endpointHealth) demotedAt(now time.Time) bool {
	until := e.demotedUntil.Load()
	return until != 0 && now.UnixNano() < until
}

// endCooldown ends a demotion whose cooldown is over: the samples that
// caused it are dropped, so the endpoint is judged on fresh ones. e.mu is
// held.
func (e *endpointHealth) endCooldown(now time.Time) {
	if until := e.demotedUntil.Load(); until != 0 && now.UnixNano() >= until {
		e.ring, e.next = e.ring[:0], 0
		e.demotedUntil.Store(0)
	}
}

// windowQuality is what the quality gate sees of a window.
type windowQuality struct {
	judged  int     // answered or failed by the carrier
	asr     float64 // answered / judged; 0 when none is
	pdds    int     // attempts with a PDD
	meanPDD time.Duration
}

// quality sums up the window. e.mu is held.
func (e *endpointHealth) quality() windowQuality {
	var q windowQuality
	answered := 0
	var sum time.Duration
	for _, s := range e.ring {
		if s.answered {
			answered++
		}
		if s.answered || s.failed {
			q.judged++
		}
		if s.pdd > 0 {
			q.pdds++
			sum += s.pdd
		}
	}
	if q.judged > 0 {
		q.asr = float64(answered) / float64(q.judged)
	}
	if q.pdds > 0 {
		q.meanPDD = sum / time.Duration(q.pdds)
	}
	return q
}
