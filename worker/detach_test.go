package worker

import (
	"testing"

	"github.com/procpool/procpool/internal/wire"
)

// Tasks handed back keep their items after the message they came from is
// released and the next one is decoded into the same memory: a hard
// timeout re-publishes them while its task may yet return and let the
// executor move on.
func TestDetachOutlivesTheDecode(t *testing.T) {
	var tm wire.TaskMsg
	first := &wire.TaskMsg{Call: 1, Tasks: []wire.Task{
		{Seq: 1, Items: [][]byte{[]byte("a1"), []byte("a2")}},
		{Seq: 2, Items: [][]byte{[]byte("b1")}},
		{Seq: 3, Items: [][]byte{[]byte("c1"), []byte("c2"), []byte("c3")}},
	}}
	if err := wire.DecodeTaskMsgInto(wire.AppendTaskMsg(nil, first), &tm); err != nil {
		t.Fatal(err)
	}
	rest := detach(tm.Tasks[1:])
	tm.Release()
	next := &wire.TaskMsg{Call: 2, Tasks: []wire.Task{{Seq: 9, Items: [][]byte{[]byte("x"), []byte("y"), []byte("z"), []byte("w")}}}}
	if err := wire.DecodeTaskMsgInto(wire.AppendTaskMsg(nil, next), &tm); err != nil {
		t.Fatal(err)
	}
	got := wire.AppendTaskMsg(nil, &wire.TaskMsg{Call: 1, Tasks: rest})
	want := wire.AppendTaskMsg(nil, &wire.TaskMsg{Call: 1, Tasks: first.Tasks[1:]})
	if string(got) != string(want) {
		t.Fatalf("handed-back tasks changed under a later decode:\n got %q\nwant %q", got, want)
	}
	// Appending to one detached task's items must not spill into the next.
	rest[0].Items = append(rest[0].Items, []byte("extra"))
	if string(rest[1].Items[0]) != "c1" {
		t.Fatalf("detached tasks share item slots: %q", rest[1].Items[0])
	}
}
