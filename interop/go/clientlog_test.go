package interop

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// clientLogEnv streams the client's log to stderr at the given level (debug, info, warn, error).
const clientLogEnv = "FERROCKET_GO_CLIENT_LOG"

// maxKeptLogLines bounds the memory used by captured client log lines.
const maxKeptLogLines = 20000

var logLevels = map[string]int{"debug": 0, "info": 1, "warn": 2, "warning": 2, "error": 3, "fatal": 4}

// capturedLog replaces the client's logrus output: it keeps warnings and errors in memory so that a
// failing test can print them, and stays silent otherwise.
type capturedLog struct {
	mu          sync.Mutex
	lines       []string
	dropped     int
	streamLevel int
}

// clientLogs is shared by all tests; tests run one after another, so marks delimit each test's lines.
var clientLogs = &capturedLog{streamLevel: 99}

func TestMain(m *testing.M) {
	if lvl, ok := logLevels[strings.ToLower(os.Getenv(clientLogEnv))]; ok {
		clientLogs.streamLevel = lvl
	}
	rlog.SetLogger(clientLogs)
	os.Exit(m.Run())
}

func (l *capturedLog) record(level int, name, msg string, fields map[string]interface{}) {
	if level < logLevels["warn"] && level < l.streamLevel {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-5s %s", time.Now().Format("15:04:05.000"), name, msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, fields[k])
	}
	line := b.String()
	if level >= l.streamLevel {
		fmt.Fprintln(os.Stderr, "rocketmq-client-go:", line)
	}
	if level < logLevels["warn"] {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > maxKeptLogLines {
		cut := len(l.lines) - maxKeptLogLines/2
		l.lines = append([]string(nil), l.lines[cut:]...)
		l.dropped += cut
	}
}

// mark returns a position to pass to since.
func (l *capturedLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.lines)
}

// since returns at most max lines recorded after mark.
func (l *capturedLog) since(mark, max int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := mark - l.dropped
	if start < 0 {
		start = 0
	}
	if start >= len(l.lines) {
		return ""
	}
	lines := l.lines[start:]
	prefix := ""
	if len(lines) > max {
		prefix = fmt.Sprintf("... (%d earlier lines omitted)\n", len(lines)-max)
		lines = lines[len(lines)-max:]
	}
	return prefix + strings.Join(lines, "\n")
}

func (l *capturedLog) Debug(msg string, fields map[string]interface{}) {
	l.record(0, "DEBUG", msg, fields)
}

func (l *capturedLog) Info(msg string, fields map[string]interface{}) {
	l.record(1, "INFO", msg, fields)
}

func (l *capturedLog) Warning(msg string, fields map[string]interface{}) {
	l.record(2, "WARN", msg, fields)
}

func (l *capturedLog) Error(msg string, fields map[string]interface{}) {
	l.record(3, "ERROR", msg, fields)
}

func (l *capturedLog) Fatal(msg string, fields map[string]interface{}) {
	l.record(4, "FATAL", msg, fields)
}

// Level is a no-op: capture and streaming levels are fixed by this package.
func (l *capturedLog) Level(string) {}

// OutputPath is a no-op: output never goes to files.
func (l *capturedLog) OutputPath(string) error { return nil }
