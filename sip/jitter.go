package sip

// jitterSlots is the ring size of the reorder buffer; a packet more than
// this far ahead of the next expected sequence number resets the buffer.
const jitterSlots = 16

// maxPayload bounds the G.711 payload we keep per packet (60 ms).
const maxPayload = 480

// maxGapFill caps how much silence stands in for lost packets (1 s), so a
// sequence jump does not flood the consumer.
const maxGapFill = 50

type jitterSlot struct {
	ok  bool
	seq uint16
	pt  uint8
	// buf is allocated the first time a packet has to wait in this slot
	// (only out of order packets do), so an in-order stream costs no
	// memory here: 16 slots of 480 bytes per call add up at thousands of
	// calls.
	buf []byte
}

// jitterBuffer puts packets back in sequence order. It holds at most depth
// packets while waiting for a missing one, then declares it lost; packets
// older than the next expected one are late and dropped. It has no playout
// clock: audio goes to the consumer as soon as it is in order, which is what
// the answering-machine detector wants.
type jitterBuffer struct {
	depth   int
	started bool
	next    uint16
	held    int
	slots   [jitterSlots]jitterSlot
	// lastLen is the payload size of the last packet out, used to size the
	// silence that stands in for lost packets.
	lastLen int
	// Lost and Late count packets declared lost and packets that came too late.
	Lost, Late uint64
}

// emitFunc receives ordered payloads; lost > 0 means that many packets of
// lastLen samples were lost just before this one (fill with silence).
type emitFunc func(pt uint8, payload []byte, lost, lastLen int)

func newJitterBuffer(depth int) *jitterBuffer {
	depth = max(0, min(depth, jitterSlots-1))
	return &jitterBuffer{depth: depth}
}

// push adds one packet; emit is called for every packet that becomes ready.
func (j *jitterBuffer) push(seq uint16, pt uint8, payload []byte, emit emitFunc) {
	if len(payload) > maxPayload {
		payload = payload[:maxPayload]
	}
	if !j.started {
		j.started = true
		j.next = seq
	}
	diff := int16(seq - j.next)
	switch {
	case diff < 0:
		j.Late++
		return
	case diff >= jitterSlots:
		// A jump (sender restart or a long outage): flush what we hold and
		// restart at this packet.
		j.flush(emit)
		j.next = seq
	}
	if diff == 0 && j.held == 0 {
		// In order with nothing waiting (nearly every packet): straight
		// through, no copy.
		emit(pt, payload, 0, j.lastLen)
		j.lastLen = len(payload)
		j.next++
		return
	}
	s := &j.slots[seq%jitterSlots]
	if s.ok {
		j.Late++ // duplicate
		return
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, maxPayload)
	}
	s.ok, s.seq, s.pt, s.buf = true, seq, pt, append(s.buf[:0], payload...)
	j.held++
	j.drain(0, emit)
	for j.held > j.depth {
		// Give up on the missing packet(s): skip to the oldest held one.
		gap := 0
		for !j.slots[j.next%jitterSlots].ok {
			j.next++
			gap++
		}
		j.Lost += uint64(gap)
		j.drain(gap, emit)
	}
}

// drain emits consecutive packets starting at next.
func (j *jitterBuffer) drain(gap int, emit emitFunc) {
	for {
		s := &j.slots[j.next%jitterSlots]
		if !s.ok || s.seq != j.next {
			return
		}
		emit(s.pt, s.buf, min(gap, maxGapFill), j.lastLen)
		gap = 0
		j.lastLen = len(s.buf)
		s.ok = false
		j.held--
		j.next++
	}
}

// flush emits everything held, in order, counting the holes as lost.
func (j *jitterBuffer) flush(emit emitFunc) {
	for j.held > 0 {
		gap := 0
		for !j.slots[j.next%jitterSlots].ok {
			j.next++
			gap++
		}
		j.Lost += uint64(gap)
		j.drain(gap, emit)
	}
}
