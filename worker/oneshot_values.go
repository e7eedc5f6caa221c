package worker

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/wire"
)

// onceArg returns a one-shot call's encoded argument: in its config, or
// stored by the parent (pool.Start, for one over the inline limit), which
// deletes it once this process has ended. A file in the parent's value
// directory is read directly; an object comes from the pool's bucket.
func onceArg(ctx context.Context, one *spawn.OneShot, nc *nats.Conn, pool string) ([]byte, *wire.ErrorInfo) {
	if one.ArgRef == nil {
		return one.Arg, nil
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, &wire.ErrorInfo{Code: wire.CodeBadInput, Message: fmt.Sprintf("stored argument %v: %v", *one.ArgRef, err)}
	}
	vals := blob.NewValues(js, blob.Bucket(pool), blob.ObjectsConfig{Replicas: wire.DefaultReplicas(nc)})
	defer vals.Close()
	ctx, cancel := context.WithTimeout(ctx, valueTimeout) // values.go
	defer cancel()
	data, err := vals.Get(ctx, *one.ArgRef)
	if err != nil {
		code := wire.CodeBadInput
		if unreachable(ctx, err) { // values.go: the broker's failure, not the value's
			code = wire.CodeUnavailable
		}
		return nil, &wire.ErrorInfo{Code: code, Message: fmt.Sprintf("stored argument %v: %v", *one.ArgRef, err)}
	}
	return data, nil
}

// writeResult writes a one-shot call's result on the status pipe: a
// result line with the byte count, then the wire result message of one
// result. A successful result's item is written after its head rather
// than copied behind it: it may be as large as memory allows.
func writeResult(w io.Writer, id string, pid int, host string, res *wire.Result) error {
	body := wire.ResultMsgHeader(nil, id, pid, host, 1)
	var item []byte
	if res.Err == nil && len(res.Items) == 1 {
		item = res.Items[0]
		body = wire.AppendResultOK(body, res.Seq, res.Attempt, 1)
		body = wire.AppendItemLen(body, len(item))
	} else {
		body = wire.AppendResult(body, res)
	}
	if _, err := w.Write(spawn.StatusLine(spawn.StatusResult, strconv.Itoa(len(body)+len(item)))); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	_, err := w.Write(item)
	return err
}
