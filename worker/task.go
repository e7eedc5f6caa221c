package worker

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/procpool/procpool/internal/wire"
)

// Task names a function that workers run: A is its argument type, R its
// result type. Values of both cross the wire as JSON ([]byte passes through
// unencoded). The zero Task is invalid; get one from Register or Ref.
type Task[A, R any] struct{ name string }

// Name is the task's registered name.
func (t Task[A, R]) Name() string { return t.name }

// handler is a registered task with its codec applied: one encoded item in,
// its encoded result appended to dst. With owned, in is this process's
// alone (a stored value it fetched): a large string or []byte argument may
// keep its memory instead of a copy. A large string or []byte result is
// returned as it is, not copied into dst: then alias is true, and out is
// the task's memory, not to be reused.
type handler func(ctx context.Context, in []byte, owned bool, dst []byte) (out []byte, alias bool, err error)

// aliasOver is the size from which a raw result is returned as it is:
// smaller ones are copied into the executor's reused buffer.
const aliasOver = 64 << 10

// Registry maps task names to functions. The zero value is not usable: use
// NewRegistry. Most programs use the default registry through Register.
type Registry struct {
	mu       sync.RWMutex
	handlers map[string]handler
}

// NewRegistry returns an empty registry, for tests and programs that want
// more than one set of tasks; pass it in Config.Registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string]handler{}} }

var defaultRegistry = NewRegistry()

// DefaultRegistry is the registry Register adds to and Main serves.
func DefaultRegistry() *Registry { return defaultRegistry }

// Register adds fn to the default registry under name and returns the Task
// that callers pass to pool.Apply, pool.Map and the rest. Call it at package
// level or in init, so that every process of the program, workers included,
// registers the same tasks. Like http.Handle, it panics on an empty or
// invalid name, a nil fn, or a name registered twice.
func Register[A, R any](name string, fn func(ctx context.Context, arg A) (R, error)) Task[A, R] {
	return RegisterIn(defaultRegistry, name, fn)
}

// RegisterIn is Register for an explicit registry.
func RegisterIn[A, R any](r *Registry, name string, fn func(ctx context.Context, arg A) (R, error)) Task[A, R] {
	if err := wire.ValidTaskName(name); err != nil {
		panic("worker: Register: " + err.Error())
	}
	if fn == nil {
		panic("worker: Register " + name + ": nil function")
	}
	if r == nil {
		panic("worker: Register " + name + ": nil registry")
	}
	h := func(ctx context.Context, in []byte, owned bool, dst []byte) ([]byte, bool, error) {
		decode := wire.Decode[A]
		if owned {
			decode = wire.DecodeOwned[A]
		}
		arg, err := decode(in)
		if err != nil {
			return dst, false, &codedError{code: wire.CodeBadInput, err: fmt.Errorf("argument of %s: %w", name, err)}
		}
		res, err := fn(ctx, arg)
		if err != nil {
			return dst, false, err
		}
		if raw, ok := wire.Raw(res); ok && len(raw) > aliasOver {
			return raw, true, nil
		}
		out, err := wire.AppendEncode(dst, res)
		if err != nil {
			return dst, false, &codedError{code: wire.CodeBadOutput, err: fmt.Errorf("result of %s: %w", name, err)}
		}
		return out, false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.handlers[name]; dup {
		panic("worker: Register: task " + name + " registered twice")
	}
	r.handlers[name] = h
	return Task[A, R]{name: name}
}

// Ref names a task registered in another binary (a remote worker's), so a
// caller can submit it without linking the function. It panics on an
// invalid name.
func Ref[A, R any](name string) Task[A, R] {
	if err := wire.ValidTaskName(name); err != nil {
		panic("worker: Ref: " + err.Error())
	}
	return Task[A, R]{name: name}
}

func (r *Registry) lookup(name string) handler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.handlers[name]
}

// Names lists the registered task names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.handlers))
	for n := range r.handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// codedError carries a wire error code for failures that are not the task
// function's own (bad input, unencodable result).
type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
