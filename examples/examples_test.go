package examples_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// run builds examples/<name> into a temporary directory and runs it, with
// a timeout; it returns the program's output and its wall time.
func run(t *testing.T, name string) (string, time.Duration, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+name)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", name, err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", name, err, stdout.String(), stderr.String())
	}
	return stdout.String(), took, cmd.Process.Pid
}

func lines(out string) []string { return strings.Split(strings.TrimSpace(out), "\n") }

func TestProcess(t *testing.T) {
	out, _, pid := run(t, "process")
	ls := lines(out)
	if ls[0] != "main process id: "+strconv.Itoa(pid) {
		t.Errorf("first line %q; want the main pid %d", ls[0], pid)
	}
	re := regexp.MustCompile(`^(bob|alice): parent process: (\d+), process id: (\d+)$`)
	reported := map[string]int{}
	for _, l := range ls {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ppid, _ := strconv.Atoi(m[2])
		cpid, _ := strconv.Atoi(m[3])
		if ppid != pid {
			t.Errorf("%s: ppid %d, want the parent's pid %d", m[1], ppid, pid)
		}
		if cpid == pid || cpid == 0 {
			t.Errorf("%s: pid %d is not a process of its own", m[1], cpid)
		}
		reported[m[1]] = cpid
	}
	if len(reported) != 2 || reported["bob"] == reported["alice"] {
		t.Errorf("want two processes with their own pids reporting; got %v\n%s", reported, out)
	}
	for _, want := range []string{"started both", "bob started", "alice started"} {
		if !slices.Contains(ls, want) {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
	if ls[len(ls)-1] != "all done" {
		t.Errorf("last line %q, want \"all done\"", ls[len(ls)-1])
	}
}

func TestReturnValue(t *testing.T) {
	out, _, _ := run(t, "returnvalue")
	if got := lines(out); !slices.Equal(got, []string{"JOHN", "PAUL", "GEORGE"}) {
		t.Errorf("output %q; want the three return values in order", got)
	}
}

func TestQueueAndPipe(t *testing.T) {
	for _, name := range []string{"queue", "pipe"} {
		t.Run(name, func(t *testing.T) {
			out, _, _ := run(t, name)
			got := lines(out)
			slices.Sort(got) // three processes: any order
			if !slices.Equal(got, []string{"GEORGE", "JOHN", "PAUL"}) {
				t.Errorf("output %q; want JOHN, PAUL, GEORGE in some order", got)
			}
		})
	}
}

func TestPool(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 4 s")
	}
	out, _, _ := run(t, "pool")
	ls := lines(out)
	want := []string{"map: [KEL SMILE]", "imap: KEL", "imap: SMILE"}
	for i := range 7 {
		want = append(want, "apply_async: TASK-"+strconv.Itoa(i))
	}
	if len(ls) != len(want)+1 || !slices.Equal(ls[:len(want)], want) {
		t.Fatalf("output:\n%s\nwant:\n%s\n7 results in ...", out, strings.Join(want, "\n"))
	}
	secs, err := parseSeconds(ls[len(want)])
	if err != nil {
		t.Fatalf("last line %q: %v", ls[len(want)], err)
	}
	if secs < 3.5 || secs > 6 {
		t.Errorf("7 two-second tasks on 5 processes took %.1fs; want about 4s (3.5 to 6)", secs)
	}
}

// parseSeconds reads the pool example's "7 results in 4.0s" line.
func parseSeconds(line string) (float64, error) {
	m := regexp.MustCompile(`^7 results in ([0-9.]+)s$`).FindStringSubmatch(line)
	if m == nil {
		return 0, os.ErrInvalid
	}
	return strconv.ParseFloat(m[1], 64)
}
