package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStepBar: bench's bar is drawn on a terminal, one step at a time, and
// cleared when finished; nothing at all is written to anything else (a
// pipe, a file: bench's output stays plain text there).
func TestStepBar(t *testing.T) {
	var plain bytes.Buffer
	step, finish := stepBar(&plain, "items x3", 3)
	step()
	finish()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	step, finish = stepBar(w, "items x3", 3)
	step()
	finish()
	w.Close()
	if b, _ := io.ReadAll(r); len(b)+plain.Len() != 0 {
		t.Fatalf("bar drawn on a non-terminal: %q %q", plain.String(), b)
	}
	r.Close()

	master, slave := openPTY(t)
	defer master.Close()
	got := make(chan string, 1)
	go func() {
		var out bytes.Buffer
		_, _ = io.Copy(&out, master) // until the slave is closed (EIO)
		got <- out.String()
	}()
	step, finish = stepBar(slave, "items x3", 3)
	for range 3 {
		step()
	}
	finish()
	slave.Close()
	select {
	case out := <-got:
		// Drawn at each step, and cleared at the end (the line is left
		// blank for bench's result line).
		segs := strings.FieldsFunc(out, func(r rune) bool { return r == '\r' })
		if !strings.Contains(out, "items x3") || !strings.Contains(out, "(1/3)") || !strings.Contains(out, "(2/3)") ||
			len(segs) == 0 || strings.TrimSpace(segs[len(segs)-1]) != "" {
			t.Fatalf("terminal got %q, want the bar at 1/3 and 2/3, then cleared", out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("terminal output not read within 5s")
	}
}
