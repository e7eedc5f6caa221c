package worker

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// addResult encodes a result into the job's outgoing buffer. j.mu is held.
func (rt *executor) addResult(j *job, r *wire.Result) {
	rt.addEncoded(j, wire.AppendResult(nil, r), r.Seq)
}

// addEncoded copies one encoded result into the job's outgoing buffer,
// flushing first if the buffer would grow past wire.MaxMessageBytes. A result that could
// never fit in one message becomes an error saying so. j.mu is held.
func (rt *executor) addEncoded(j *job, enc []byte, seq uint64) {
	limit := rt.maxPay - 1024
	if len(enc) > limit {
		enc = wire.AppendResult(nil, &wire.Result{Seq: seq, Attempt: j.attempt, Err: &wire.ErrorInfo{
			Code: wire.CodeBadOutput, Message: fmt.Sprintf("result of task %s is %d bytes, over the broker's max payload of %d", j.name, len(enc), rt.maxPay)}})
	}
	if j.nout > 0 && len(j.out)-rt.reserve()+len(enc) > min(limit, wire.MaxMessageBytes) {
		rt.flush(j)
	}
	if j.out == nil {
		// Room in front for the message header, written at flush, and for
		// the message's remaining results at this one's size, up to a
		// flush: a lone Apply's result allocates what it needs, not 4 KiB.
		rest := max(j.end-j.next+1, 1)
		want := min(len(enc)*rest, max(int(rt.flushSize.Load()), len(enc)))
		j.out = rt.out.get(rt.reserve() + max(want, len(enc)))[:rt.reserve()]
	}
	j.out = append(j.out, enc...)
	j.nout++
}

// reserve is the room kept in front of a result buffer for the header.
func (rt *executor) reserve() int { return len(rt.resultHdr) + binary.MaxVarintLen64 }

// flush sends the buffered results to the caller. The header goes into the
// room kept in front, and the buffer itself becomes the message (the
// confirmer keeps it until the caller's receipt, then recycles it), so
// nothing is copied.
// j.mu is held.
func (rt *executor) flush(j *job) {
	if j.nout == 0 {
		return
	}
	count := binary.AppendUvarint(nil, uint64(j.nout))
	start := rt.reserve() - len(rt.resultHdr) - len(count)
	copy(j.out[start:], rt.resultHdr)
	copy(j.out[start+len(rt.resultHdr):], count)
	body := j.out[start:]
	rt.flushSize.Store(int64(len(body)))
	// The mean time per item lets the caller pack short tasks and send long
	// ones one per message (pool/tasktimes.go).
	mean := ""
	if j.outExec > 0 && j.outItems > 0 { // tasks that did not run (failAll) say nothing
		mean = strconv.FormatInt(int64(j.outExec)/int64(j.outItems), 10)
	}
	if err := rt.confirms.publish(j, j.out, body, mean); err != nil { // confirm.go
		rt.log.Warn("sending results", "to", j.reply, "err", err)
	}
	j.out, j.nout, j.outExec, j.outItems, j.lastFlush = nil, 0, 0, 0, time.Now()
}

// failAll answers every task of the message with the same error.
func (rt *executor) failAll(j *job, info *wire.ErrorInfo) {
	rt.failSpans(j, []span{{0, len(j.tm.Tasks)}}, info)
}

// failSpans answers the tasks of spans with the same error.
func (rt *executor) failSpans(j *job, spans []span, info *wire.ErrorInfo) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range spans {
		for _, t := range j.tm.Tasks[s.lo:s.hi] {
			rt.addResult(j, &wire.Result{Seq: t.Seq, Attempt: j.attempt, Err: info})
		}
	}
	rt.flush(j)
}
