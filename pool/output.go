package pool

import (
	"io"
	"os"
)

// workerOutput is where WithWorkerOutputPrefix sends workers' lines.
type workerOutput struct{ stdout, stderr io.Writer }

// WithWorkerOutputPrefix makes the lines the pool's worker processes write
// to stdout and stderr appear on this process's stdout and stderr prefixed
// with the worker's id ("[w host-1234] "), whole lines, never mixed with
// another worker's. Default: worker processes inherit this process's
// stdout and stderr and their prints appear unchanged, as in Python. It
// concerns local worker processes only.
func WithWorkerOutputPrefix() Option {
	return func(o *options) error {
		o.workerOutput = &workerOutput{stdout: os.Stdout, stderr: os.Stderr}
		return nil
	}
}

// prefixOutput applies WithWorkerOutputPrefix to the supervisor.
func (p *Pool) prefixOutput() {
	if w := p.o.workerOutput; w != nil {
		p.sup.PrefixOutput(w.stdout, w.stderr)
	}
}
