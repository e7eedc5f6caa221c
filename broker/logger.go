package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogAdapter routes nats-server's printf-style logging into log/slog, so a
// pool's broker logs through the same handler as the rest of the program.
// When fatal is not nil, the first Fatalf message is also sent there
// (without blocking), so that Start can fail with the reason.
type slogAdapter struct {
	l      *slog.Logger
	notice slog.Level // the level of Noticef lines
	fatal  chan<- string
}

func (a slogAdapter) log(level slog.Level, format string, v []any) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	a.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (a slogAdapter) Noticef(format string, v ...any) { a.log(a.notice, format, v) }
func (a slogAdapter) Warnf(format string, v ...any) {
	// The broker's passwords live in memory only (generated, or handed
	// over by the caller), so nats-server's advice to hash them in a config
	// file is noise at every pool start.
	if strings.HasPrefix(format, "Plaintext passwords detected") {
		a.log(slog.LevelDebug, format, v)
		return
	}
	a.log(slog.LevelWarn, format, v)
}
func (a slogAdapter) Errorf(format string, v ...any) { a.log(slog.LevelError, format, v) }
func (a slogAdapter) Debugf(format string, v ...any) { a.log(slog.LevelDebug, format, v) }
func (a slogAdapter) Tracef(format string, v ...any) { a.log(slog.LevelDebug-4, format, v) }

func (a slogAdapter) Fatalf(format string, v ...any) {
	a.log(slog.LevelError, format, v)
	if a.fatal != nil {
		select {
		case a.fatal <- fmt.Sprintf(format, v...):
		default:
		}
	}
}
