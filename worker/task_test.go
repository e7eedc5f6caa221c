package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/procpool/procpool/internal/wire"
)

func TestRegisterPanicsOnProgrammerErrors(t *testing.T) {
	fn := func(ctx context.Context, s string) (string, error) { return s, nil }
	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"empty name", func() { RegisterIn(NewRegistry(), "", fn) }, "empty task name"},
		{"space in name", func() { RegisterIn(NewRegistry(), "a b", fn) }, "valid NATS subject"},
		{"wildcard", func() { RegisterIn(NewRegistry(), "a.>", fn) }, "valid NATS subject"},
		{"empty token", func() { RegisterIn(NewRegistry(), "a..b", fn) }, "valid NATS subject"},
		{"nil function", func() { RegisterIn[string, string](NewRegistry(), "x", nil) }, "nil function"},
		{"nil registry", func() { RegisterIn(nil, "x", fn) }, "nil registry"},
		{"duplicate", func() { r := NewRegistry(); RegisterIn(r, "x", fn); RegisterIn(r, "x", fn) }, "registered twice"},
		{"bad Ref", func() { Ref[string, string]("*") }, "valid NATS subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Fatalf("panic = %v, want one mentioning %q", r, tc.want)
				}
			}()
			tc.call()
		})
	}
}

func TestHandlerCodec(t *testing.T) {
	r := NewRegistry()
	type pair struct{ A, B int }
	add := RegisterIn(r, "add", func(ctx context.Context, p pair) (int, error) { return p.A + p.B, nil })
	RegisterIn(r, "bytes", func(ctx context.Context, b []byte) ([]byte, error) { return append(b, '!'), nil })
	RegisterIn(r, "unencodable", func(ctx context.Context, _ int) (func(), error) { return func() {}, nil })
	if add.Name() != "add" || !slices.Equal(r.Names(), []string{"add", "bytes", "unencodable"}) {
		t.Fatalf("names %q, %v", add.Name(), r.Names())
	}
	ctx := context.Background()
	out, err := callHandler(ctx, r.lookup("add"), []byte(`{"A":2,"B":3}`), nil)
	if err != nil || string(out) != "5" {
		t.Fatalf("add = %s, %v", out, err)
	}
	out, err = callHandler(ctx, r.lookup("bytes"), []byte{0xff, 0}, nil)
	if err != nil || !slices.Equal(out, []byte{0xff, 0, '!'}) {
		t.Fatalf("bytes pass through unencoded: %v, %v", out, err)
	}
	_, err = callHandler(ctx, r.lookup("add"), []byte(`not json`), nil)
	if info := errorInfo(err); info.Code != wire.CodeBadInput {
		t.Fatalf("undecodable argument: %+v", info)
	}
	_, err = callHandler(ctx, r.lookup("unencodable"), []byte(`1`), nil)
	if info := errorInfo(err); info.Code != wire.CodeBadOutput {
		t.Fatalf("unencodable result: %+v", info)
	}
	if r.lookup("missing") != nil {
		t.Fatal("lookup of an unregistered name")
	}
}

func TestErrorClassification(t *testing.T) {
	panicky := func(ctx context.Context, in []byte, owned bool, dst []byte) ([]byte, bool, error) { panic("kaboom") }
	_, err := callHandler(context.Background(), panicky, nil, nil)
	info := errorInfo(err)
	if info.Code != wire.CodePanic || info.Message != "panic: kaboom" || !strings.Contains(info.Stack, "task_test.go") {
		t.Fatalf("panic: %+v", info)
	}
	for _, tc := range []struct {
		err  error
		code string
	}{
		{errors.New("plain"), wire.CodeTask},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), wire.CodeTimeout},
		{context.Canceled, wire.CodeCanceled},
	} {
		if got := errorInfo(tc.err).Code; got != tc.code {
			t.Errorf("errorInfo(%v).Code = %q, want %q", tc.err, got, tc.code)
		}
	}
}

func TestCurrentOutsideATask(t *testing.T) {
	if info := Current(context.Background()); info != (Info{}) {
		t.Fatalf("Current outside a task = %+v", info)
	}
	if Conn(context.Background()) != nil {
		t.Fatal("Conn outside a task is not nil")
	}
}

func TestServeValidatesConfig(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no url", Config{}},
		{"bad pool", Config{URL: "nats://127.0.0.1:1", Pool: "a.b"}},
		{"negative max tasks", Config{URL: "nats://127.0.0.1:1", MaxTasksPerChild: -1}},
		{"negative ack wait", Config{URL: "nats://127.0.0.1:1", AckWait: -1}},
		{"GOMAXPROCS below -1", Config{URL: "nats://127.0.0.1:1", GOMAXPROCS: -2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Serve(ctx, tc.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Serve = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if err := Run(ctx, Config{URL: "nats://127.0.0.1:1"}, -1); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Run(-1 processes) = %v", err)
	}
}
