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

// poolOptions hand the settings to a pool's workers, and at debug level
// the logger to the pool and its embedded broker.
func (l *logFlags) poolOptions() []pool.Option {
	if l.log == nil {
		return nil
	}
	opts := []pool.Option{pool.WithWorkerLog(l.level, l.format)}
	if l.level == "debug" {
		// The pool logs through slog's default (setup made it ours); an
		// explicit logger also gets the embedded broker's chatter.
		opts = append(opts, pool.WithLogger(l.log))
	}
	return opts
}
