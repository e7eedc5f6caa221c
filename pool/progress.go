package pool

import "fmt"

// Progress is how far a Map, IMap or IMapUnordered call has come, in
// items: Done of Total have completed, Failed of them with an error.
// Total is -1 while an IMap's input has not ended.
type Progress struct {
	Done   int // items completed, failed ones included
	Total  int // items in the call; -1 while unknown
	Failed int // items completed with an error
}

// WithProgress has Map, IMap and IMapUnordered call fn as items complete,
// from the goroutine that waits for the results (for IMap, the one that
// ranges over them), never concurrently with itself. A call that
// completes reports Done == Total last. fn must be quick: results wait
// while it runs.
func WithProgress(fn func(Progress)) MapOption {
	return func(o *mapOptions) error {
		if fn == nil {
			return fmt.Errorf("%w: WithProgress(nil)", ErrInvalidOption)
		}
		o.progress = fn
		return nil
	}
}

// progress tracks a call's Progress and reports changes to its callback.
// It also counts into the call's callStat, which the caller reports on the
// pool's calls subject (calls.go).
type progress struct {
	fn   func(Progress) // nil: only the callStat
	cur  Progress
	last Progress
	sent bool
	stat *callStat
}

// newProgress returns nil, on which every method does nothing, for a nil fn.
func newProgress(fn func(Progress), total int) *progress {
	if fn == nil {
		return nil
	}
	return &progress{fn: fn, cur: Progress{Total: total}}
}

// add counts n completed items, failed ones among them if failed.
func (p *progress) add(n int, failed bool) {
	if p == nil {
		return
	}
	p.cur.Done += n
	if failed {
		p.cur.Failed += n
	}
	if p.stat != nil {
		p.stat.done.Add(int64(n))
		if failed {
			p.stat.failed.Add(int64(n))
		}
	}
}

// setTotal records the total once the input has ended.
func (p *progress) setTotal(n int) {
	if p != nil {
		p.cur.Total = n
		if p.stat != nil {
			p.stat.total.Store(int64(n))
		}
	}
}

// failItem counts one more failed item among those already done.
func (p *progress) failItem() {
	if p != nil {
		p.cur.Failed++
		if p.stat != nil {
			p.stat.failed.Add(1)
		}
	}
}

// report calls the callback if anything changed since the last call.
func (p *progress) report() {
	if p == nil || p.fn == nil || (p.sent && p.cur == p.last) {
		return
	}
	p.last, p.sent = p.cur, true
	p.fn(p.cur)
}

// trackProgress has prog (nil: a Progress nobody asked for) also count
// into a callStat the pool reports (calls.go); end it when the call ends.
func (p *Pool) trackProgress(prog *progress, task, kind string, total int) *progress {
	if p.calls == nil {
		return prog
	}
	if prog == nil {
		prog = &progress{cur: Progress{Total: total}}
	}
	prog.stat = p.calls.track(task, kind, total)
	return prog
}

// end marks the call ended, for its last report.
func (p *progress) end() {
	if p != nil && p.stat != nil {
		p.stat.ended.Store(true)
	}
}
