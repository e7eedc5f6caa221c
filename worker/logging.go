package worker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/procpool/procpool/internal/spawn"
)

// ErrInvalidLogFormat is wrapped by NewLogger's error for a format other
// than "text" or "json", or a level slog does not know.
var ErrInvalidLogFormat = errors.New("worker: invalid log settings")

// NewLogger returns a slog logger writing to w at level ("debug", "info",
// "warn", "error"; empty means info) in format ("text" or "json"; empty
// means text). procpool's binaries build their loggers with it, so that
// --log-level and --log-format mean the same everywhere.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: nil writer", ErrInvalidLogFormat)
	}
	var lv slog.Level
	if level != "" {
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("%w: level %q: want debug, info, warn or error", ErrInvalidLogFormat, level)
		}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("%w: format %q: want text or json", ErrInvalidLogFormat, format)
	}
}

// childLogger is a worker process's logger: stderr, at the level and in
// the format its supervisor asked for (bad settings fall back to info and
// text). It also becomes slog's default, with the worker's id and pid, so
// that what tasks log says which worker they ran in.
func childLogger(cfg spawn.ChildConfig) *slog.Logger {
	log, err := NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		log, _ = NewLogger(os.Stderr, "", "")
		log.Warn("worker log settings", "err", err)
	}
	slog.SetDefault(log.With("worker", cfg.ID, "pid", os.Getpid()))
	return log
}
