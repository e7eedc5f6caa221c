package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
)

func sampleTaskMsg() *TaskMsg {
	return &TaskMsg{Call: 7, Tasks: []Task{
		{Seq: 1, Items: [][]byte{[]byte(`{"n":1}`)}},
		{Seq: 300, Items: [][]byte{[]byte("a"), {}, []byte("ccc")}},
		{Seq: 1 << 40, Items: [][]byte{}},
	}}
}

func sampleResultMsg() *ResultMsg {
	return &ResultMsg{Worker: "host-12", PID: 12, Host: "host", Results: []Result{
		{Seq: 1, Attempt: 1, Items: [][]byte{[]byte("2")}},
		{Seq: 2, Attempt: 3, Err: &ErrorInfo{Code: CodePanic, Message: "boom", Stack: "main.go:1", Item: 2}},
		{Seq: 3, Attempt: 1, Items: [][]byte{}},
	}}
}

func TestTaskMsgRoundTrip(t *testing.T) {
	m := sampleTaskMsg()
	enc := AppendTaskMsg(nil, m)
	got, err := DecodeTaskMsg(enc)
	if err != nil {
		t.Fatalf("DecodeTaskMsg: %v", err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	// The streaming form (header + AppendTask) is the same bytes.
	b := TaskMsgHeader(nil, m.Call, len(m.Tasks))
	for i := range m.Tasks {
		b = AppendTask(b, &m.Tasks[i])
	}
	if !bytes.Equal(b, enc) {
		t.Fatalf("TaskMsgHeader+AppendTask = %x, AppendTaskMsg = %x", b, enc)
	}
}

func TestResultMsgRoundTrip(t *testing.T) {
	m := sampleResultMsg()
	enc := AppendResultMsg(nil, m)
	got, err := DecodeResultMsg(enc)
	if err != nil {
		t.Fatalf("DecodeResultMsg: %v", err)
	}
	// Decoded items stay in wire form; re-encoded, they are the same bytes.
	if again := AppendResultMsg(nil, got); !bytes.Equal(again, enc) {
		t.Fatalf("re-encoded %x, want %x", again, enc)
	}
	if got.Results[0].Items != nil || got.Results[0].NItems != 1 {
		t.Fatalf("decoded items not in wire form: %+v", got.Results[0])
	}
	if !reflect.DeepEqual(normResult(got), normResult(sampleResultMsg())) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
}

// A result's items read the same from Items and from their wire form, and
// a hand-made Encoded that lies about its items yields what it holds.
func TestResultItems(t *testing.T) {
	items := [][]byte{[]byte(`"a"`), {}, bytes.Repeat([]byte("z"), 300)}
	var enc []byte
	for _, it := range items {
		enc = AppendItem(enc, it)
	}
	for _, r := range []*Result{{Items: items}, {Encoded: enc, NItems: 3}} {
		if r.Len() != 3 || !bytes.Equal(r.First(), items[0]) {
			t.Fatalf("%+v: Len %d, First %q", r, r.Len(), r.First())
		}
		all := r.All()
		for range 2 { // a second range reads them again
			if got := slices.Collect(all); len(got) != 3 || !bytes.Equal(got[2], items[2]) || len(got[1]) != 0 {
				t.Fatalf("All: %q", got)
			}
		}
	}
	short := &Result{Encoded: enc[:len(enc)-1], NItems: 3}
	if got := slices.Collect(short.All()); len(got) != 2 {
		t.Fatalf("a truncated item was yielded: %d items", len(got))
	}
	if (&Result{}).First() != nil {
		t.Fatal("First of no items")
	}
}

func TestDecodeMalformed(t *testing.T) {
	task := AppendTaskMsg(nil, sampleTaskMsg())
	res := AppendResultMsg(nil, sampleResultMsg())
	tests := []struct {
		name   string
		data   []byte
		result bool // decode as a result message
		why    string
	}{
		{name: "empty task", data: nil, why: "bad magic"},
		{name: "wrong magic", data: append([]byte{'X'}, task[1:]...), why: "bad magic"},
		{name: "result as task", data: res, why: "bad magic"},
		{name: "task as result", data: task, result: true, why: "bad magic"},
		{name: "wrong version", data: append([]byte{'T', 99}, task[2:]...), why: "version 99"},
		{name: "truncated task", data: task[:len(task)-2], why: "malformed"},
		{name: "trailing bytes", data: append(append([]byte(nil), task...), 0), why: "trailing bytes"},
		{name: "huge task count", data: []byte{'T', Version, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, why: "count larger than message"},
		{name: "huge item count", data: []byte{'T', Version, 1, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, why: "count larger than message"},
		{name: "huge item length", data: []byte{'T', Version, 1, 1, 1, 0, 1, 0xff, 0xff, 0x03, 'x'}, why: "length past end"},
		{name: "ref outside the value root", data: AppendTaskMsg(nil, &TaskMsg{Call: 1, Tasks: []Task{{Seq: 1, NItems: 1, Ref: &Ref{Kind: RefFile, Name: "procpool-x/../../etc/passwd", Size: 5}}}}), why: "ref"},
		{name: "absolute file ref", data: AppendTaskMsg(nil, &TaskMsg{Call: 1, Tasks: []Task{{Seq: 1, NItems: 1, Ref: &Ref{Kind: RefFile, Name: "/etc/passwd", Size: 5}}}}), why: "ref"},
		{name: "unknown ref kind", data: AppendTaskMsg(nil, &TaskMsg{Call: 1, Tasks: []Task{{Seq: 1, NItems: 1, Ref: &Ref{Kind: 'z', Name: "a", Size: 5}}}}), why: "ref"},
		{name: "stored result with a bad ref", data: AppendResultMsg(nil, &ResultMsg{Results: []Result{{Seq: 1, NItems: 1, Ref: &Ref{Kind: RefObject, Name: "a.b>", Size: 1}}}}), result: true, why: "ref"},
		{name: "bad varint", data: []byte{'T', Version, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, why: "bad varint"},
		{name: "truncated result", data: res[:len(res)-1], result: true, why: "malformed"},
		{name: "bad status", data: append(ResultMsgHeader(nil, "w", 1, "h", 1), 1, 1, 9), result: true, why: "status 9"},
		{name: "bad error json", data: append(ResultMsgHeader(nil, "w", 1, "h", 1), 1, 1, 1, 2, '{', '{'), result: true, why: "error info"},
		{name: "huge result count", data: append(ResultMsgHeader(nil, "w", 1, "h", 0)[:len(ResultMsgHeader(nil, "w", 1, "h", 0))-1], 0xff, 0xff, 0xff, 0x7f), result: true, why: "count larger than message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.result {
				_, err = DecodeResultMsg(tt.data)
			} else {
				_, err = DecodeTaskMsg(tt.data)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.why)) {
				t.Fatalf("err = %q, want it to say %q", err, tt.why)
			}
		})
	}
}

func TestDecodeTaskMsgAliasesInput(t *testing.T) {
	enc := AppendTaskMsg(nil, &TaskMsg{Call: 1, Tasks: []Task{{Seq: 1, Items: [][]byte{[]byte("abc")}}}})
	m, err := DecodeTaskMsg(enc)
	if err != nil {
		t.Fatal(err)
	}
	// Appending to a decoded item must not overwrite the buffer after it.
	it := m.Tasks[0].Items[0]
	if cap(it) != len(it) {
		t.Fatalf("item capacity %d > length %d: an append would clobber the envelope", cap(it), len(it))
	}
}

func TestDecodeResultMsgRejectsOutOfRangeNumbers(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01} // 2^64-1
	attempt := append(append(ResultMsgHeader(nil, "w", 1, "h", 1), 1), huge...)
	attempt = append(attempt, 0, 0)
	pid := append([]byte{'R', Version, 1, 'w'}, huge...)
	pid = append(pid, 1, 'h', 0)
	for name, data := range map[string][]byte{"attempt": attempt, "pid": pid} {
		m, err := DecodeResultMsg(data)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s of 2^64-1: got %+v, %v; want ErrMalformed", name, m, err)
		}
	}
}

// The incremental result encoders write exactly what AppendResult writes.
func TestIncrementalResultEncoding(t *testing.T) {
	r := Result{Seq: 9, Attempt: 2, Items: [][]byte{[]byte(`"A"`), {}, []byte("xyz")}}
	want := AppendResult(nil, &r)
	got := AppendResultOK(nil, r.Seq, r.Attempt, len(r.Items))
	for _, it := range r.Items {
		got = AppendItem(got, it)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("incremental %x, AppendResult %x", got, want)
	}
	// An item's head and its bytes written apart make the same result.
	apart := AppendResultOK(nil, r.Seq, r.Attempt, len(r.Items))
	for _, it := range r.Items {
		apart = append(AppendItemLen(apart, len(it)), it...)
	}
	if !bytes.Equal(apart, want) {
		t.Fatalf("with AppendItemLen %x, AppendResult %x", apart, want)
	}
	big := make([]byte, 300)
	if got := append(AppendItemLen(nil, len(big)), big...); !bytes.Equal(got, AppendItem(nil, big)) {
		t.Fatalf("AppendItemLen(300) + item is not AppendItem")
	}
	head := ResultMsgHeader(nil, "w-1", 42, "host", 3)
	prefix := ResultHeaderPrefix("w-1", 42, "host")
	if !bytes.Equal(head[:len(prefix)], prefix) || !bytes.Equal(head[len(prefix):], []byte{3}) {
		t.Fatalf("ResultHeaderPrefix %x is not the start of %x", prefix, head)
	}
}

// A task whose items come pre-encoded (Task.Encoded) is written exactly as
// the same task with Items, and decodes to it.
func TestTaskEncodedItems(t *testing.T) {
	items := [][]byte{[]byte(`"a"`), {}, bytes.Repeat([]byte("z"), 300)}
	var enc []byte
	for _, it := range items {
		enc = AppendItem(enc, it)
	}
	want := AppendTask(nil, &Task{Seq: 7, Items: items})
	got := AppendTask(nil, &Task{Seq: 7, Encoded: enc, NItems: len(items)})
	if !bytes.Equal(got, want) {
		t.Fatalf("Encoded %x, Items %x", got, want)
	}
	if _, err := DecodeTaskMsg(TaskMsgHeader(nil, 1, 1)); err == nil {
		t.Fatal("a header promising one task and holding none decoded")
	}
	m, err := DecodeTaskMsg(append(TaskMsgHeader(nil, 1, 1), got...))
	if err != nil || len(m.Tasks) != 1 || len(m.Tasks[0].Items) != 3 || !bytes.Equal(m.Tasks[0].Items[2], items[2]) {
		t.Fatalf("decoded %+v, %v", m, err)
	}
}

// Decoding into a reused TaskMsg gives what a fresh decode gives.
func TestDecodeTaskMsgInto(t *testing.T) {
	var m TaskMsg
	for _, want := range []*TaskMsg{sampleTaskMsg(), {Call: 1, Tasks: []Task{{Seq: 5, Items: [][]byte{[]byte("x")}}}}, sampleTaskMsg()} {
		data := AppendTaskMsg(nil, want)
		if err := DecodeTaskMsgInto(data, &m); err != nil {
			t.Fatal(err)
		}
		fresh, err := DecodeTaskMsg(data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(AppendTaskMsg(nil, &m), AppendTaskMsg(nil, fresh)) || m.Call != want.Call || len(m.Tasks) != len(want.Tasks) {
			t.Fatalf("reused decode %+v, fresh %+v", m, fresh)
		}
	}
	if err := DecodeTaskMsgInto([]byte("Tjunk"), &m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

// Release leaves nothing of a decoded message reachable from the reused
// TaskMsg, however a larger message before it had grown its slices, and
// the next decode into it still works.
func TestTaskMsgRelease(t *testing.T) {
	var m TaskMsg
	big := &TaskMsg{Call: 2}
	for i := range 100 {
		big.Tasks = append(big.Tasks, Task{Seq: uint64(i), Items: [][]byte{[]byte("a"), []byte("b")}})
	}
	for _, msg := range []*TaskMsg{big, sampleTaskMsg()} {
		if err := DecodeTaskMsgInto(AppendTaskMsg(nil, msg), &m); err != nil {
			t.Fatal(err)
		}
		m.Release()
		if m.Call != 0 || len(m.Tasks) != 0 || len(m.flat) != 0 {
			t.Fatalf("after Release: call %d, %d tasks, %d items", m.Call, len(m.Tasks), len(m.flat))
		}
		for i, it := range m.flat[:cap(m.flat)] {
			if it != nil {
				t.Fatalf("item slot %d still points into a released message", i)
			}
		}
		for i, task := range m.Tasks[:cap(m.Tasks)] {
			if task.Items != nil || task.Seq != 0 {
				t.Fatalf("task slot %d still holds %+v", i, task)
			}
		}
	}
	if cap(m.flat) < 200 {
		t.Fatalf("Release dropped the item slice (cap %d): the next decode would allocate it again", cap(m.flat))
	}
	want := sampleTaskMsg()
	if err := DecodeTaskMsgInto(AppendTaskMsg(nil, want), &m); err != nil || len(m.Tasks) != len(want.Tasks) {
		t.Fatalf("decode after Release: %v, %d tasks", err, len(m.Tasks))
	}
}

// A one-task message framed in place (the prefix in front of items encoded
// elsewhere) is byte for byte the message AppendTask makes, for any size
// of call and sequence numbers.
func TestOneTaskPrefix(t *testing.T) {
	var items []byte
	for _, it := range []string{`"a"`, `"bcd"`, `""`} {
		items = AppendItem(items, []byte(it))
	}
	for _, n := range []uint64{0, 1, 127, 128, 1 << 20, math.MaxUint64} {
		task := Task{Seq: n ^ 0x55, Encoded: items, NItems: 3}
		want := AppendTask(TaskMsgHeader(nil, n, 1), &task)
		pre := AppendOneTaskPrefix(nil, n, task.Seq, 3)
		if len(pre) > MaxOneTaskPrefix {
			t.Fatalf("prefix of %d bytes, over MaxOneTaskPrefix %d", len(pre), MaxOneTaskPrefix)
		}
		if got := append(pre, items...); !bytes.Equal(got, want) {
			t.Fatalf("call %d: framed %x, want %x", n, got, want)
		}
	}
}

func TestStoredTaskAndResultRoundTrip(t *testing.T) {
	ref := &Ref{Kind: RefFile, Name: "procpool-abc_1/t-7-x", Size: 5 << 20}
	tm := &TaskMsg{Call: 3, Tasks: []Task{
		{Seq: 1, Items: [][]byte{[]byte("inline")}},
		{Seq: 2, NItems: 4, Ref: ref},
	}}
	got, err := DecodeTaskMsg(AppendTaskMsg(nil, tm))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tasks) != 2 || got.Tasks[0].Ref != nil || string(got.Tasks[0].Items[0]) != "inline" {
		t.Fatalf("inline task = %+v", got.Tasks[0])
	}
	if st := got.Tasks[1]; st.Ref == nil || *st.Ref != *ref || st.NItems != 4 || st.Items != nil {
		t.Fatalf("stored task = %+v, want ref %+v and 4 items", st, ref)
	}

	oref := &Ref{Kind: RefObject, Name: "r-12-abc", Size: 64 << 20}
	rm := &ResultMsg{Worker: "w", PID: 9, Host: "h", Results: []Result{
		{Seq: 1, Attempt: 1, NItems: 2, Ref: oref},
		{Seq: 2, Attempt: 1, Items: [][]byte{[]byte("x")}},
	}}
	back, err := DecodeResultMsg(AppendResultMsg(nil, rm))
	if err != nil {
		t.Fatal(err)
	}
	if r := back.Results[0]; r.Ref == nil || *r.Ref != *oref || r.NItems != 2 || r.Err != nil {
		t.Fatalf("stored result = %+v", r)
	}
	if r := back.Results[1]; r.Ref != nil || r.Len() != 1 || string(r.First()) != "x" {
		t.Fatalf("inline result = %+v", r)
	}
}

func TestSplitItems(t *testing.T) {
	var b []byte
	for _, s := range []string{"a", "", "ccc"} {
		b = AppendItem(b, []byte(s))
	}
	items, err := SplitItems(nil, b, 3)
	if err != nil || len(items) != 3 || string(items[2]) != "ccc" || len(items[1]) != 0 {
		t.Fatalf("SplitItems = %q, %v", items, err)
	}
	if _, err := SplitItems(nil, b, 4); !errors.Is(err, ErrMalformed) {
		t.Fatalf("one item too many: err = %v, want ErrMalformed", err)
	}
	if _, err := SplitItems(nil, b, 2); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bytes left over: err = %v, want ErrMalformed", err)
	}
}
