package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
)

// The envelopes are small hand-written binary formats: a task message is on
// the hot path of every call, and JSON around already-encoded values would
// mean encoding them twice. Layouts (all integers uvarint, bytes
// length-prefixed):
//
//	task message:   'T' version callID ntasks { seq form nitems ( { item } | ref ) }
//	                form 0: the items inline; 1: stored, ref names them (ref.go)
//	result message: 'R' version worker pid host nresults
//	                { seq attempt status ( nitems { item } | errorJSON | nitems ref ) }
//	                status 0: ok, inline; 1: error; 2: ok, stored

const (
	magicTask   = 'T'
	magicResult = 'R'
)

// ErrMalformed is wrapped by every decode error.
var ErrMalformed = errors.New("wire: malformed envelope")

// Task is one unit of retry and result: a call's argument, or a chunk of a
// Map's items.
type Task struct {
	Seq   uint64
	Items [][]byte
	// Encoded, used when Items is nil, holds NItems items already in wire
	// form (each appended with AppendItem): a caller that encodes a large
	// chunk straight into it spares a slice per item and a copy.
	Encoded []byte
	NItems  int
	// Ref, when set, says the task's NItems items are stored elsewhere
	// (their encoding, as Encoded would hold it): the message carries the
	// reference, and the worker fills Items once it has fetched them.
	Ref *Ref
}

// Task and result forms on the wire.
const (
	formInline = 0
	formStored = 1

	statusOK     = 0
	statusErr    = 1
	statusStored = 2
)

// TaskMsg is the body of one task message.
type TaskMsg struct {
	Call  uint64
	Tasks []Task

	flat [][]byte // backing store of the tasks' Items, reused by DecodeTaskMsgInto
}

// Result is what came of one Task.
type Result struct {
	Seq     uint64
	Attempt int
	// On success, the items, one per item of the task: Items when a
	// result is encoded; as DecodeResultMsg leaves it, NItems items in
	// wire form in Encoded instead, not a slice per item (a Map chunk's
	// 12,500 results would be 300 KB of pointers for the collector to
	// scan). Len, All and First read either.
	Items   [][]byte
	Encoded []byte
	NItems  int
	Err     *ErrorInfo // on failure
	// Ref, when set on a success, says its NItems items are stored
	// elsewhere; the caller fetches them and sets Encoded.
	Ref *Ref
	// Owned says Encoded is this process's alone (a stored result it
	// fetched), so a lone item may be decoded without a copy (DecodeOwned).
	Owned bool
}

// Len is the number of items of a successful result.
func (r *Result) Len() int {
	if r.Items == nil {
		return r.NItems
	}
	return len(r.Items)
}

// All yields the items of a successful result in order. The slices alias
// the message the result was decoded from.
func (r *Result) All() iter.Seq[[]byte] {
	if r.Items != nil {
		return slices.Values(r.Items)
	}
	enc, n := r.Encoded, r.NItems
	return func(yield func([]byte) bool) {
		b := enc // each range starts over
		for range n {
			it, rest, ok := splitItem(b)
			if !ok || !yield(it) {
				return
			}
			b = rest
		}
	}
}

// First is a successful result's first item (nil if none): an Apply's
// one result, read without building an iterator.
func (r *Result) First() []byte {
	if r.Items != nil {
		if len(r.Items) == 0 {
			return nil
		}
		return r.Items[0]
	}
	if r.NItems == 0 {
		return nil
	}
	it, _, _ := splitItem(r.Encoded)
	return it
}

// splitItem cuts one length-prefixed item off the front of b.
func splitItem(b []byte) (item, rest []byte, ok bool) {
	l, k := binary.Uvarint(b)
	if k <= 0 || l > uint64(len(b)-k) {
		return nil, nil, false
	}
	end := k + int(l)
	return b[k:end:end], b[end:], true
}

// ResultMsg is the body of one result message.
type ResultMsg struct {
	Worker  string
	PID     int
	Host    string
	Results []Result
}

// AppendTaskMsg appends the encoding of m to b.
func AppendTaskMsg(b []byte, m *TaskMsg) []byte {
	b = append(b, magicTask, Version)
	b = binary.AppendUvarint(b, m.Call)
	b = binary.AppendUvarint(b, uint64(len(m.Tasks)))
	for i := range m.Tasks {
		b = AppendTask(b, &m.Tasks[i])
	}
	return b
}

// AppendTask appends one task's encoding (without the message header).
func AppendTask(b []byte, t *Task) []byte {
	b = binary.AppendUvarint(b, t.Seq)
	if t.Ref != nil {
		b = append(b, formStored)
		b = binary.AppendUvarint(b, uint64(t.NItems))
		return AppendRef(b, t.Ref)
	}
	b = append(b, formInline)
	if t.Items == nil && t.NItems > 0 {
		b = binary.AppendUvarint(b, uint64(t.NItems))
		return append(b, t.Encoded...)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Items)))
	for _, it := range t.Items {
		b = appendBytes(b, it)
	}
	return b
}

// MaxOneTaskPrefix bounds what a one-task message body has in front of its
// task's encoded items: TaskMsgHeader and the task's own head.
const MaxOneTaskPrefix = 2 + 2*binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64

// AppendOneTaskPrefix appends what a message of the one task seq, of n
// items encoded elsewhere, has in front of those items: with them after
// it, it is the body AppendTask would make.
func AppendOneTaskPrefix(b []byte, call, seq uint64, n int) []byte {
	b = TaskMsgHeader(b, call, 1)
	b = binary.AppendUvarint(b, seq)
	b = append(b, formInline)
	return binary.AppendUvarint(b, uint64(n))
}

// TaskMsgHeader starts a task message body that AppendTask then extends;
// ntasks must equal the number of tasks appended.
func TaskMsgHeader(b []byte, call uint64, ntasks int) []byte {
	b = append(b, magicTask, Version)
	b = binary.AppendUvarint(b, call)
	return binary.AppendUvarint(b, uint64(ntasks))
}

// DecodeTaskMsg decodes a task message body. Item slices alias data.
func DecodeTaskMsg(data []byte) (*TaskMsg, error) {
	m := new(TaskMsg)
	if err := DecodeTaskMsgInto(data, m); err != nil {
		return nil, err
	}
	m.flat = nil // nothing to reuse: a fresh TaskMsg compares equal to a literal
	return m, nil
}

// Release drops m's references into the message data it was decoded
// from, so that the data can be collected before the next message is
// decoded into m; the slices themselves are kept for reuse. Only their
// lengths are cleared: each decode fills no more than that.
func (m *TaskMsg) Release() {
	m.Call = 0
	clear(m.flat)
	m.flat = m.flat[:0]
	clear(m.Tasks)
	m.Tasks = m.Tasks[:0]
}

// DecodeTaskMsgInto decodes a task message body into m, reusing the
// memory of what m held before: a worker decodes one message after another
// into the same TaskMsg. Item slices alias data.
func DecodeTaskMsgInto(data []byte, m *TaskMsg) error {
	d := decoder{b: data}
	if err := d.header(magicTask); err != nil {
		return err
	}
	m.Call = d.uvarint()
	n := d.count(3) // a task takes at least 3 bytes
	if d.err != nil {
		return d.err
	}
	if cap(m.Tasks) >= n {
		m.Tasks = m.Tasks[:n]
	} else {
		m.Tasks = make([]Task, n)
	}
	// Every task's items are windows on one flat slice.
	flat := m.flat[:0]
	for i := range m.Tasks {
		t := &m.Tasks[i]
		t.Seq = d.uvarint()
		t.Ref, t.NItems, t.Encoded = nil, 0, nil
		if d.byte() == formStored {
			t.NItems = int(d.uvarint() & (1<<31 - 1))
			t.Ref = d.ref()
			t.Items = nil
			if d.err != nil {
				break
			}
			continue
		}
		k := d.count(1)
		start := len(flat)
		for range k {
			flat = append(flat, d.bytes())
		}
		if d.err != nil {
			break
		}
		t.Items = flat[start:len(flat):len(flat)]
	}
	m.flat = flat
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// ResultMsgHeader starts a result message body; nres results must follow,
// each appended with AppendResult.
func ResultMsgHeader(b []byte, worker string, pid int, host string, nres int) []byte {
	b = append(b, magicResult, Version)
	b = appendBytes(b, []byte(worker))
	b = binary.AppendUvarint(b, uint64(pid))
	b = appendBytes(b, []byte(host))
	return binary.AppendUvarint(b, uint64(nres))
}

// ResultHeaderPrefix is the start of a result message body, up to (not
// including) the result count: a worker computes it once.
func ResultHeaderPrefix(worker string, pid int, host string) []byte {
	b := []byte{magicResult, Version}
	b = appendBytes(b, []byte(worker))
	b = binary.AppendUvarint(b, uint64(pid))
	return appendBytes(b, []byte(host))
}

// AppendResultOK starts the encoding of a successful result of nitems
// items; AppendItem must follow for each. Together they write what
// AppendResult writes for the same result.
func AppendResultOK(b []byte, seq uint64, attempt, nitems int) []byte {
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendUvarint(b, uint64(max(attempt, 0)))
	b = append(b, statusOK)
	return binary.AppendUvarint(b, uint64(nitems))
}

// AppendItem appends one item in wire form: of a result started with
// AppendResultOK, or of a task's Encoded items.
func AppendItem(b, item []byte) []byte { return appendBytes(b, item) }

// AppendItemLen appends the head of an item of n bytes: with the n bytes
// after it, it is what AppendItem writes. A writer of a very large item
// sends the two apart rather than copy it behind its head.
func AppendItemLen(b []byte, n int) []byte { return binary.AppendUvarint(b, uint64(n)) }

// AppendResult appends one result's encoding.
func AppendResult(b []byte, r *Result) []byte {
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendUvarint(b, uint64(max(r.Attempt, 0)))
	if r.Err != nil {
		b = append(b, statusErr)
		ej, err := json.Marshal(r.Err)
		if err != nil { // cannot happen for ErrorInfo's field types
			ej = []byte(`{"code":"task","msg":"unencodable error"}`)
		}
		return appendBytes(b, ej)
	}
	if r.Ref != nil {
		b = append(b, statusStored)
		b = binary.AppendUvarint(b, uint64(r.NItems))
		return AppendRef(b, r.Ref)
	}
	b = append(b, statusOK)
	if r.Items == nil && r.NItems > 0 {
		b = binary.AppendUvarint(b, uint64(r.NItems))
		return append(b, r.Encoded...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Items)))
	for _, it := range r.Items {
		b = appendBytes(b, it)
	}
	return b
}

// AppendResultMsg appends the encoding of m to b.
func AppendResultMsg(b []byte, m *ResultMsg) []byte {
	b = ResultMsgHeader(b, m.Worker, m.PID, m.Host, len(m.Results))
	for i := range m.Results {
		b = AppendResult(b, &m.Results[i])
	}
	return b
}

// DecodeResultMsg decodes a result message body. Item slices alias data.
func DecodeResultMsg(data []byte) (*ResultMsg, error) {
	d := decoder{b: data}
	if err := d.header(magicResult); err != nil {
		return nil, err
	}
	m := &ResultMsg{Worker: string(d.bytes()), PID: d.int(), Host: string(d.bytes())}
	n := d.count(3)
	if d.err != nil {
		return nil, d.err
	}
	m.Results = make([]Result, n)
	for i := range m.Results {
		r := &m.Results[i]
		r.Seq = d.uvarint()
		r.Attempt = d.int()
		switch st := d.byte(); st {
		case statusOK:
			n := d.count(1)
			start := d.b
			for range n {
				d.bytes()
			}
			if d.err == nil {
				r.NItems, r.Encoded = n, start[:len(start)-len(d.b):len(start)-len(d.b)]
			}
		case statusStored:
			r.NItems = int(d.uvarint() & (1<<31 - 1))
			r.Ref = d.ref()
		case statusErr:
			ej := d.bytes()
			if d.err != nil {
				break
			}
			r.Err = new(ErrorInfo)
			if err := json.Unmarshal(ej, r.Err); err != nil {
				d.fail("error info: " + err.Error())
			}
		default:
			d.fail(fmt.Sprintf("status %d", st))
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if len(d.b) != 0 {
		d.fail("trailing bytes")
		return nil, d.err
	}
	return m, nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decoder reads a buffer and remembers the first error, so callers check once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, why)
	}
	d.b = nil
}

func (d *decoder) header(magic byte) error {
	if len(d.b) < 2 || d.b[0] != magic {
		d.fail("bad magic")
		return d.err
	}
	if d.b[1] != Version {
		d.fail(fmt.Sprintf("version %d, want %d", d.b[1], Version))
		return d.err
	}
	d.b = d.b[2:]
	return nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a uvarint that must fit in an int32 (pids, attempts): garbage
// must not turn into a negative number on the caller's side.
func (d *decoder) int() int {
	v := d.uvarint()
	if v > math.MaxInt32 {
		d.fail(fmt.Sprintf("number %d out of range", v))
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads an element count and rejects one that could not fit in what
// is left (each element needs at least minSize bytes): garbage must not make
// the decoder allocate gigabytes.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/minSize) {
		d.fail("count larger than message")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length past end")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
