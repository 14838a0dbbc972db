package meta

import (
	"fmt"
	"log/slog"
	"strings"
)

// badgerLogger routes Badger's printf-style logging to slog. Badger's
// Info lines (table opens, compactions, value log replay) are routine
// engine chatter, so they are logged at Debug.
type badgerLogger struct{ l *slog.Logger }

func newBadgerLogger(l *slog.Logger) *badgerLogger {
	return &badgerLogger{l: l.With("component", "badger")}
}

func msg(format string, args []any) string {
	return strings.TrimRight(fmt.Sprintf(format, args...), "\n")
}

func (b *badgerLogger) Errorf(format string, args ...any)   { b.l.Error(msg(format, args)) }
func (b *badgerLogger) Warningf(format string, args ...any) { b.l.Warn(msg(format, args)) }
func (b *badgerLogger) Infof(format string, args ...any)    { b.l.Debug(msg(format, args)) }
func (b *badgerLogger) Debugf(format string, args ...any)   { b.l.Debug(msg(format, args)) }
