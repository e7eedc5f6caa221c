package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/procpool/procpool/worker"
)

// The test binary doubles as the worker binary of the pools it starts.
func TestMain(m *testing.M) {
	worker.Main()
	os.Exit(m.Run())
}

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "--processes", "2"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"Map(upper", "KEL SMILE", "IMap(square, 1..10) = 1 4 9 16 25 36 49 64 81 100",
		"Get(100ms) -> pool: timeout", "killed pid", "(attempt 2)", "1 lost and replaced", "demo ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"unknown command", []string{"frobnicate"}, 2},
		{"bad demo flag", []string{"demo", "--processes", "many"}, 2},
		{"version", []string{"version"}, 0},
		{"bench memprofile in a missing directory", []string{"bench", "--memprofile", "/nonexistent/dir/allocs"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errOut.String())
			}
		})
	}
}
