package wire

import (
	"fmt"
	"testing"
)

// The envelopes are on the hot path of every task: one encode and one
// decode per message on each side.
func benchTasks(n int) *TaskMsg {
	m := &TaskMsg{Call: 7}
	for i := range n {
		m.Tasks = append(m.Tasks, Task{Seq: uint64(1000 + i), Items: [][]byte{[]byte(fmt.Sprintf(`"item-%d-abc"`, i))}})
	}
	return m
}

func BenchmarkTaskMsgRoundTrip(b *testing.B) {
	for _, n := range []int{1, 256} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := benchTasks(n)
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendTaskMsg(buf[:0], m)
				if _, err := DecodeTaskMsg(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

func BenchmarkResultMsgRoundTrip(b *testing.B) {
	for _, n := range []int{1, 256} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m := &ResultMsg{Worker: "host-1234", PID: 1234, Host: "host"}
			for i := range n {
				m.Results = append(m.Results, Result{Seq: uint64(i), Attempt: 1, Items: [][]byte{[]byte(`"ITEM-1-ABC"`)}})
			}
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendResultMsg(buf[:0], m)
				if _, err := DecodeResultMsg(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "results/s")
		})
	}
}
