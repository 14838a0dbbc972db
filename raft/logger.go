package raft

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftio"
)

// Dragonboat's logger is process-wide and can be set only once (a second
// logger.SetLoggerFactory panics). The adapter installed here forwards every
// record to the slog.Logger of the most recently created Host that is still
// open, so a process with several Hosts (tests) keeps working and a closed
// Host's logger is never used again.

var (
	installLogger sync.Once

	loggersMu sync.Mutex
	loggers   []*slog.Logger // open hosts' loggers, oldest first
	current   atomic.Pointer[slog.Logger]
)

// registerLogger makes l the destination of Dragonboat's logs, installing
// the adapter on first use.
func registerLogger(l *slog.Logger) {
	installLogger.Do(func() {
		logger.SetLoggerFactory(func(pkg string) logger.ILogger {
			return &slogAdapter{pkg: pkg, level: int32(defaultLevel(pkg))}
		})
	})
	loggersMu.Lock()
	defer loggersMu.Unlock()
	loggers = append(loggers, l)
	current.Store(l)
}

// unregisterLogger stops sending Dragonboat's logs to l.
func unregisterLogger(l *slog.Logger) {
	loggersMu.Lock()
	defer loggersMu.Unlock()
	for i, x := range loggers {
		if x == l {
			loggers = append(loggers[:i], loggers[i+1:]...)
			break
		}
	}
	if len(loggers) == 0 {
		current.Store(nil)
		return
	}
	current.Store(loggers[len(loggers)-1])
}

// defaultLevel quiets the packages whose INFO output is per-entry noise,
// and the config package's warnings, which do not apply here: "mutual TLS
// disabled" (this transport authenticates every peer without it) and a
// heartbeat over a tenth of the election (the awake shard's, on purpose:
// awakeTiming).
func defaultLevel(pkg string) logger.LogLevel {
	switch pkg {
	case "raft", "rsm", "transport", "logdb", "dragonboat", "gossip":
		return logger.WARNING
	case "config":
		return logger.ERROR
	}
	return logger.INFO
}

// slogAdapter is a Dragonboat ILogger writing to the current slog.Logger.
//
// Levels: Dragonboat's INFO is chatty and becomes Debug. Its raft package
// logs routine election steps (PreVote, votes) at WARNING, repeated every
// election timeout while a peer is down; they become Debug too, and Host
// logs leader changes itself at Info (leaderListener). The transport
// reports a peer it cannot reach at ERROR; that is a Warn here, its other
// warnings Info. Everything else maps one to one.
type slogAdapter struct {
	pkg   string
	level int32 // logger.LogLevel
}

func (a *slogAdapter) SetLevel(l logger.LogLevel) { atomic.StoreInt32(&a.level, int32(l)) }

func (a *slogAdapter) enabled(l logger.LogLevel) bool {
	return l <= logger.LogLevel(atomic.LoadInt32(&a.level))
}

func (a *slogAdapter) log(l logger.LogLevel, format string, args []any) {
	if !a.enabled(l) {
		return
	}
	sl := current.Load()
	if sl == nil {
		return
	}
	lv := slogLevel(a.pkg, l)
	ctx := context.Background()
	if !sl.Enabled(ctx, lv) {
		return
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	sl.LogAttrs(ctx, lv, msg, slog.String("pkg", a.pkg))
}

func (a *slogAdapter) Debugf(format string, args ...any)   { a.log(logger.DEBUG, format, args) }
func (a *slogAdapter) Infof(format string, args ...any)    { a.log(logger.INFO, format, args) }
func (a *slogAdapter) Warningf(format string, args ...any) { a.log(logger.WARNING, format, args) }
func (a *slogAdapter) Errorf(format string, args ...any)   { a.log(logger.ERROR, format, args) }

// Panicf logs and panics, as Dragonboat expects (it calls Panicf on broken
// invariants).
func (a *slogAdapter) Panicf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if sl := current.Load(); sl != nil {
		sl.LogAttrs(context.Background(), slog.LevelError, msg, slog.String("pkg", a.pkg))
	}
	panic(msg)
}

func slogLevel(pkg string, l logger.LogLevel) slog.Level {
	switch l {
	case logger.DEBUG, logger.INFO:
		return slog.LevelDebug
	case logger.WARNING:
		switch pkg {
		case "raft":
			return slog.LevelDebug
		case "transport":
			return slog.LevelInfo
		}
		return slog.LevelWarn
	}
	if pkg == "transport" {
		return slog.LevelWarn
	}
	return slog.LevelError
}

// leaderListener logs leader changes as this node sees them.
type leaderListener struct {
	log      *slog.Logger
	noLeader *sync.Map // Host.noLeader
}

func (l leaderListener) LeaderUpdated(info raftio.LeaderInfo) {
	if info.LeaderID != 0 {
		l.noLeader.Delete(info.ShardID)
	}
	if info.LeaderID == 0 {
		l.log.Debug("raft leader lost", "shard_id", info.ShardID, "replica_id", info.ReplicaID, "term", info.Term)
		return
	}
	l.log.Info("raft leader elected", "shard_id", info.ShardID, "replica_id", info.ReplicaID,
		"leader_id", info.LeaderID, "term", info.Term)
}
