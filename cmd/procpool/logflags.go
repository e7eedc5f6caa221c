package main

import (
	"flag"
	"io"
	"log/slog"

	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// logFlags are --log-level and --log-format, which every command takes,
// with environment fallbacks PROCPOOL_LOG_LEVEL and PROCPOOL_LOG_FORMAT.
type logFlags struct {
	level, format string
	log           *slog.Logger // set by setup
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", envDefault("PROCPOOL_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error (env PROCPOOL_LOG_LEVEL)")
	fs.StringVar(&l.format, "log-format", envDefault("PROCPOOL_LOG_FORMAT", "text"), "log `format`: text or json (env PROCPOOL_LOG_FORMAT)")
}

// setup builds the command's logger on stderr and makes it slog's default.
func (l *logFlags) setup(stderr io.Writer) (*slog.Logger, error) {
	log, err := worker.NewLogger(stderr, l.level, l.format)
	if err != nil {
		return nil, err
	}
	l.log = log
	slog.SetDefault(log)
	return log, nil
}

// poolOptions hand the logger to a pool and the settings to its workers.
func (l *logFlags) poolOptions() []pool.Option {
	if l.log == nil {
		return nil
	}
	return []pool.Option{pool.WithLogger(l.log), pool.WithWorkerLog(l.level, l.format)}
}
