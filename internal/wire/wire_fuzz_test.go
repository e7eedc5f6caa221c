package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The fuzz targets below cover every decoder that reads bytes off the
// wire. Each asserts that garbage never panics and never allocates more
// than the input justifies, that every failure wraps ErrMalformed, and,
// where an encoder exists, that decoding is a fixed point of encoding.
// Their seed corpora (f.Add below and testdata/fuzz) run in every
// `go test`; `make fuzz` explores further.

func FuzzDecodeTaskMsg(f *testing.F) {
	f.Add(AppendTaskMsg(nil, sampleTaskMsg()))
	f.Add(AppendTaskMsg(nil, &TaskMsg{}))
	f.Add([]byte{})
	f.Add([]byte("T"))
	f.Add([]byte{'T', Version, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{'R', Version})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeTaskMsg(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(m.Tasks) > len(data) {
			t.Fatalf("%d tasks from %d bytes", len(m.Tasks), len(data))
		}
		again, err := DecodeTaskMsg(AppendTaskMsg(nil, m))
		if err != nil {
			t.Fatalf("re-encoding a decoded message does not decode: %v", err)
		}
		if !reflect.DeepEqual(normTask(again), normTask(m)) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", again, m)
		}
	})
}

func FuzzDecodeResultMsg(f *testing.F) {
	f.Add(AppendResultMsg(nil, sampleResultMsg()))
	f.Add(AppendResultMsg(nil, &ResultMsg{}))
	f.Add([]byte{})
	f.Add([]byte{'R', Version, 0, 0, 0, 1, 1, 1, 1, 2, '{', '}'})
	f.Add(append(ResultMsgHeader(nil, "w", 1, "h", 1), 1, 1, 9))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeResultMsg(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(m.Results) > len(data) {
			t.Fatalf("%d results from %d bytes", len(m.Results), len(data))
		}
		for _, r := range m.Results {
			if r.Attempt < 0 {
				t.Fatalf("negative attempt %d", r.Attempt)
			}
		}
		again, err := DecodeResultMsg(AppendResultMsg(nil, m))
		if err != nil {
			t.Fatalf("re-encoding a decoded message does not decode: %v", err)
		}
		// Error texts may change once (invalid UTF-8 becomes U+FFFD), so
		// compare a second round trip with the first.
		third, err := DecodeResultMsg(AppendResultMsg(nil, again))
		if err != nil || !reflect.DeepEqual(normResult(third), normResult(again)) {
			t.Fatalf("round trip differs (err %v):\n got %+v\nwant %+v", err, third, again)
		}
		if len(again.Results) != len(m.Results) || again.Worker != m.Worker || again.PID != m.PID || again.Host != m.Host {
			t.Fatalf("round trip changed the header or count:\n got %+v\nwant %+v", again, m)
		}
	})
}

func FuzzParseAck(f *testing.F) {
	f.Add("$JS.ACK.PROCPOOL_p.workers.3.42.40.1700000000000000000.5")
	f.Add("$JS.ACK.dom.ACCHASH.PROCPOOL_p.workers.1.7.7.1700000000000000000.0")
	f.Add("$JS.ACK.dom.ACCHASH.PROCPOOL_p.workers.2.9.8.1700000000000000000.0.rand")
	f.Add("$JS.ACK.......")
	f.Add("_INBOX.x")
	f.Fuzz(func(t *testing.T, subject string) {
		m, ok := ParseAck(subject)
		if !ok {
			if m != (AckMeta{}) {
				t.Fatalf("not ok but returned %+v", m)
			}
			return
		}
		if m.Delivered < 1 {
			t.Fatalf("delivered %d < 1 from %q", m.Delivered, subject)
		}
		if strings.Contains(m.Stream, ".") {
			t.Fatalf("stream %q holds a dot", m.Stream)
		}
		v1 := fmt.Sprintf("$JS.ACK.%s.c.%d.%d.1.2.3", m.Stream, m.Delivered, m.StreamSeq)
		if back, ok := ParseAck(v1); !ok || back != m {
			t.Fatalf("v1 form %q parses as %+v, %v; want %+v", v1, back, ok, m)
		}
	})
}

func FuzzBeat(f *testing.F) {
	b, _ := json.Marshal(Beat{ID: "h-1", PID: 1, Host: "h", Pool: "p", TasksDone: 3, Busy: true, Task: "t", Tasks: []string{"t"}, Interval: 1e9})
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","started":"not a time"}`))
	f.Add([]byte(`{"id":"x","tasks":[1,2]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// What the pool's heartbeat subscriber does with any message.
		var b Beat
		if json.Unmarshal(data, &b) != nil {
			return
		}
		enc, err := json.Marshal(b)
		if err != nil {
			return // e.g. a year out of range: the beat is dropped
		}
		var again Beat
		if err := json.Unmarshal(enc, &again); err != nil {
			t.Fatalf("a re-encoded beat does not decode: %v", err)
		}
		if again.ID != b.ID || again.PID != b.PID || again.TasksDone != b.TasksDone || !again.Started.Equal(b.Started) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", again, b)
		}
	})
}

func FuzzDecodeValue(f *testing.F) {
	f.Add([]byte(`{"X":1,"Y":"a"}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`"\ud800"`))
	f.Add([]byte{0xff, 0xfe})
	// The body of a stored queue or pipe item (a ref, marked by a header):
	// a reader that missed the header decodes it as a value, and must
	// fail cleanly or pass it through.
	f.Add(AppendRef(nil, &Ref{Kind: RefObject, Name: "q-0123456789abcdef01234567", Size: 5 << 20}))
	f.Add(AppendRef(nil, &Ref{Kind: RefFile, Name: "procpool-1_ab/p-1", Size: 1}))
	type value struct {
		X int
		Y string
		Z []float64
		M map[string]any
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode[value](data)
		if err != nil {
			return
		}
		enc, err := Encode(v)
		if err != nil {
			t.Fatalf("a decoded value does not encode: %v", err)
		}
		if _, err := Decode[value](enc); err != nil {
			t.Fatalf("a re-encoded value does not decode: %v", err)
		}
		raw, _ := Decode[[]byte](data)
		if string(raw) != string(data) {
			t.Fatal("[]byte does not pass through")
		}
	})
}

// FuzzDecodeRef reads the body of a stored queue or pipe item: only a
// valid ref and nothing else decodes, and what decodes round-trips.
func FuzzDecodeRef(f *testing.F) {
	f.Add(AppendRef(nil, &Ref{Kind: RefObject, Name: "q-0123456789abcdef01234567", Size: 5 << 20}))
	f.Add(AppendRef(nil, &Ref{Kind: RefFile, Name: "procpool-1_ab/p-1", Size: 1}))
	f.Add(append(AppendRef(nil, &Ref{Kind: RefObject, Name: "x", Size: 2}), 0))
	f.Add(AppendRef(nil, &Ref{Kind: RefObject, Name: "../etc/passwd", Size: 2}))
	f.Add(AppendRef(nil, &Ref{Kind: RefFile, Name: "/etc/passwd", Size: 2}))
	f.Add([]byte{RefObject, 1, 'x', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Add([]byte(`"a"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRef(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if r != (Ref{}) {
				t.Fatalf("failed but returned %+v", r)
			}
			return
		}
		if err := r.Valid(); err != nil {
			t.Fatalf("decoded an invalid ref %+v: %v", r, err)
		}
		again, err := DecodeRef(AppendRef(nil, &r))
		if err != nil || again != r {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, r)
		}
	})
}

// normTask and normResult make nil and empty item lists compare equal.
func normTask(m *TaskMsg) *TaskMsg {
	for i := range m.Tasks {
		if len(m.Tasks[i].Items) == 0 {
			m.Tasks[i].Items = nil
		}
	}
	return m
}

// normResult puts every result's items in Items form (nil if none), as a
// decoded result holds them in Encoded.
func normResult(m *ResultMsg) *ResultMsg {
	for i := range m.Results {
		r := &m.Results[i]
		items := slices.Collect(r.All())
		if len(items) == 0 {
			items = nil
		}
		r.Items, r.Encoded, r.NItems = items, nil, 0
	}
	return m
}

// DecodeStrings decodes every item as Decode[string] would.
func FuzzDecodeStrings(f *testing.F) {
	f.Add([]byte(`a`), []byte(`bc`), []byte(``))
	f.Add([]byte("a\n"), []byte{0xff}, []byte(`"y"`))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		items := [][]byte{a, b, c}
		dst := []string{"keep", "keep", "keep"}
		if !DecodeStrings(dst, slices.Values(items)) {
			t.Fatal("declined three items for three strings")
		}
		for i, it := range items {
			want, err := Decode[string](it)
			if err != nil || dst[i] != want {
				t.Fatalf("item %q: got %q, Decode gives %q, %v", it, dst[i], want, err)
			}
		}
	})
}
