package wire

import "testing"

func TestParseAck(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		ok      bool
		want    AckMeta
	}{
		{name: "v1", subject: "$JS.ACK.PROCPOOL_p.workers.3.42.40.1700000000000000000.5", ok: true,
			want: AckMeta{Stream: "PROCPOOL_p", Delivered: 3, StreamSeq: 42}},
		{name: "v2", subject: "$JS.ACK.dom.ACCHASH.PROCPOOL_p.workers.1.7.7.1700000000000000000.0", ok: true,
			want: AckMeta{Stream: "PROCPOOL_p", Delivered: 1, StreamSeq: 7}},
		{name: "v2 with token", subject: "$JS.ACK.dom.ACCHASH.PROCPOOL_p.workers.2.9.8.1700000000000000000.0.rand", ok: true,
			want: AckMeta{Stream: "PROCPOOL_p", Delivered: 2, StreamSeq: 9}},
		{name: "empty", subject: ""},
		{name: "not an ack", subject: "_INBOX.abc.def"},
		{name: "too few tokens", subject: "$JS.ACK.S.C.1.2"},
		{name: "ten tokens", subject: "$JS.ACK.S.C.1.2.3.4.5.6"},
		{name: "delivered zero", subject: "$JS.ACK.S.C.0.2.3.4.5"},
		{name: "delivered negative", subject: "$JS.ACK.S.C.-1.2.3.4.5"},
		{name: "delivered not a number", subject: "$JS.ACK.S.C.x.2.3.4.5"},
		{name: "sequence not a number", subject: "$JS.ACK.S.C.1.-2.3.4.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseAck(tt.subject)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("ParseAck(%q) = %+v, %v; want %+v, %v", tt.subject, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestConsumerNextSubject(t *testing.T) {
	if got, want := ConsumerNextSubject("S", "c"), "$JS.API.CONSUMER.MSG.NEXT.S.c"; got != want {
		t.Fatalf("ConsumerNextSubject = %q, want %q", got, want)
	}
}
