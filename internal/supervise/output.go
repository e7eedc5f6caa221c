package supervise

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// maxLine is the longest line copied whole; a longer one is cut into lines
// of this size, so that a child writing no newline cannot grow memory.
const maxLine = 64 << 10

// PrefixOutput makes every child's stdout and stderr go through pipes to
// stdout and stderr, each line prefixed with "[w <id>] " and written in one
// Write under a lock shared by all children, so that lines never mix. The
// pipes are read until EOF (a child never blocks writing to them) and a last
// partial line is written with a newline added. Call it before Start; by
// default children inherit this process's stdout and stderr, as in Python.
func (s *Supervisor) PrefixOutput(stdout, stderr io.Writer) {
	s.out = &prefixer{stdout: &lockedWriter{w: stdout}, stderr: &lockedWriter{w: stderr}}
}

// prefixer copies children's output to the parent's writers.
type prefixer struct{ stdout, stderr *lockedWriter }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// outputPipes are the pipes of one child's stdout and stderr.
type outputPipes struct {
	r, w [2]*os.File // stdout, stderr
	wg   sync.WaitGroup
}

func newOutputPipes() (*outputPipes, error) {
	o := &outputPipes{}
	for i := range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			o.closeAll()
			return nil, err
		}
		o.r[i], o.w[i] = r, w
	}
	return o, nil
}

// closeAll closes every end still open (after a failed start).
func (o *outputPipes) closeAll() {
	o.closeWrite()
	for _, f := range o.r {
		if f != nil {
			_ = f.Close()
		}
	}
}

// closeWrite closes this process's copies of the write ends, once the
// child has its own, so that the reads end when the child's are closed.
func (o *outputPipes) closeWrite() {
	for _, f := range o.w {
		if f != nil {
			_ = f.Close()
		}
	}
}

// start copies both pipes to p's writers with prefix, until EOF.
func (o *outputPipes) start(p *prefixer, prefix string) {
	for i, dst := range []*lockedWriter{p.stdout, p.stderr} {
		r := o.r[i]
		o.wg.Go(func() {
			defer r.Close()
			copyLines(dst, r, prefix)
		})
	}
}

// wait waits for the copies to reach EOF, for up to d; after that (a
// grandchild may hold the pipes open) it closes the read ends, which ends
// the copies, and waits for them.
func (o *outputPipes) wait(d time.Duration) {
	done := make(chan struct{})
	go func() {
		o.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(d):
	}
	for _, f := range o.r {
		_ = f.Close()
	}
	<-done
}

// copyLines writes each line of r to w as prefix+line in one Write.
func copyLines(w io.Writer, r io.Reader, prefix string) {
	br := bufio.NewReaderSize(r, maxLine)
	buf := make([]byte, 0, 256)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			buf = append(append(buf[:0], prefix...), line...)
			if buf[len(buf)-1] != '\n' {
				buf = append(buf, '\n') // a cut long line, or the last one
			}
			_, _ = w.Write(buf) // keep draining even if the parent's writer fails
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
