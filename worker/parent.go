package worker

import (
	"bufio"
	"context"
	"os"
	"strings"

	"github.com/procpool/procpool/internal/spawn"
)

// watchParent reads the control lines that follow the configuration on
// stdin (spawn.StopLine). It returns a channel closed when the parent asks
// for a graceful stop. At end of file the parent is gone, however it died
// (the kernel closes its end of the pipe): the worker exits at once, on
// every platform and without any signal. Its broker or its results'
// receiver went with the parent, so finishing the task in hand is of no use.
func watchParent(in *bufio.Reader) <-chan struct{} {
	stop := make(chan struct{})
	go func() {
		stopped := false
		for {
			line, err := in.ReadString('\n')
			if err != nil {
				os.Exit(ExitError)
			}
			if strings.TrimSpace(line) == spawn.StopLine && !stopped {
				stopped = true
				close(stop)
			}
		}
	}()
	return stop
}

// stopOn returns a context that ends with ctx or when stop is closed.
func stopOn(ctx context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// takeStdin returns the control pipe and leaves os.Stdin empty, as it was
// before the parent kept the pipe open: a task (or a program it starts with
// os.Stdin) must not read the control lines.
func takeStdin() *bufio.Reader {
	in := bufio.NewReader(os.Stdin)
	if null, err := os.Open(os.DevNull); err == nil {
		os.Stdin = null
	}
	return in
}
