package spawn

import (
	"bytes"
	"strings"
	"testing"
)

// The status pipe and the stdin config are the other bytes a worker
// process and its supervisor read from each other. Garbage must not panic
// either side; status lines round-trip.

func FuzzParseStatus(f *testing.F) {
	f.Add("ready h-1\n")
	f.Add("take $JS.ACK.S.C.1.2.3.4.5 it.quick\n")
	f.Add("done 12")
	f.Add("")
	f.Add(" \n\n")
	f.Fuzz(func(t *testing.T, line string) {
		kind, arg := ParseStatus(line)
		if strings.Contains(kind, " ") {
			t.Fatalf("kind %q holds a space", kind)
		}
		if kind == "" || strings.ContainsAny(kind, "\n") {
			return
		}
		// What a child writes, the supervisor reads back.
		k2, a2 := ParseStatus(string(StatusLine(kind, arg)))
		if k2 != kind || a2 != strings.ReplaceAll(strings.TrimRight(arg, "\n"), "\n", " ") {
			t.Fatalf("StatusLine(%q, %q) parses as %q, %q", kind, arg, k2, a2)
		}
	})
}

func FuzzStatusScanner(f *testing.F) {
	f.Add([]byte("ready a\ntake b c\ndone 1\n"))
	f.Add(bytes.Repeat([]byte("x"), 70000))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := NewStatusScanner(bytes.NewReader(data))
		n := 0
		for sc.Scan() {
			ParseStatus(sc.Text())
			n++
		}
		if n > len(data)+1 {
			t.Fatalf("%d lines from %d bytes", n, len(data))
		}
	})
}

func FuzzReadConfig(f *testing.F) {
	f.Add([]byte(`{"url":"nats://127.0.0.1:4222","user":"u","password":"p","pool":"default","id":"h-1","ack_wait":5000000000}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"url":"x","once":{"task":"t","arg_ref":{"Kind":102,"Name":"procpool-1_ab/p-1","Size":5242880},"task_id":"i.process.1"}}`))
	f.Add([]byte(`{"once":{"arg_ref":{"Kind":"f","Size":-1}}}`))
	f.Add([]byte(`{"url":1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ReadConfig(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spawn: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		}
	})
}
