package pool

import (
	"context"
	"log/slog"

	"github.com/procpool/procpool/worker"
)

// WithWorkerLog sets the level ("debug", "info", "warn", "error") and the
// format ("text" or "json") of what the pool's worker processes log on
// their stderr, which they share with this process. Default: the level
// the pool's logger (WithLogger) has enabled, and text.
func WithWorkerLog(level, format string) Option {
	return func(o *options) error {
		if _, err := worker.NewLogger(discard{}, level, format); err != nil {
			return invalid("WithWorkerLog: %v", err)
		}
		o.workerLogLevel, o.workerLogFormat = level, format
		return nil
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// workerLog is the level and format for the pool's worker processes.
func (p *Pool) workerLog() (level, format string) {
	level, format = p.o.workerLogLevel, p.o.workerLogFormat
	if level == "" {
		ctx := context.Background()
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			if p.log.Enabled(ctx, l) {
				level = l.String()
				break
			}
		}
	}
	return level, format
}
