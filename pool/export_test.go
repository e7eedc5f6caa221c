package pool

import "io"

// WithWorkerOutputPrefixTo is WithWorkerOutputPrefix with the parent's
// writers chosen by the test.
func WithWorkerOutputPrefixTo(stdout, stderr io.Writer) Option {
	return func(o *options) error {
		o.workerOutput = &workerOutput{stdout: stdout, stderr: stderr}
		return nil
	}
}
