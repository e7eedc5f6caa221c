package pool_test

import (
	"errors"
	"testing"

	"github.com/procpool/procpool/pool"
)

// A task whose stored argument the broker could not serve on any attempt
// (code "unavailable") matches pool.ErrUnavailable, and only that.
func TestTaskErrorUnavailableIsErrUnavailable(t *testing.T) {
	err := error(&pool.TaskError{Task: "t", Code: "unavailable", Message: "stored argument: JetStream system temporarily unavailable"})
	if !errors.Is(err, pool.ErrUnavailable) {
		t.Errorf("%v does not match pool.ErrUnavailable", err)
	}
	if errors.Is(err, pool.ErrBadInput) || errors.Is(err, pool.ErrTaskFailed) {
		t.Errorf("%v matches bad input or task failed", err)
	}
	if bad := error(&pool.TaskError{Code: "bad_input"}); errors.Is(bad, pool.ErrUnavailable) {
		t.Errorf("bad_input matches pool.ErrUnavailable")
	}
}
