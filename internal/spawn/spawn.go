// Package spawn is the contract between a supervising parent (pool or
// standalone worker binary) and the worker processes it re-executes: the
// environment marker, the configuration sent over stdin, and the status
// lines a child writes on an inherited pipe.
package spawn

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// EnvMarker is set in a child's environment; worker.Main looks for it.
const EnvMarker = "PROCPOOL_WORKER"

// StatusFD is the child's file descriptor of the status pipe (ExtraFiles[0])
// on Unix; on Windows, where a child inherits handles and not descriptor
// numbers, ChildConfig.StatusFD names the inherited handle instead.
const StatusFD = 3

// ChildConfig travels to the child over stdin, as JSON, so that no secret
// ever appears in argv or the environment.
type ChildConfig struct {
	URL      string `json:"url"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
	// TLS files (paths) for a tls:// broker: CA, client certificate and key.
	TLSCA            string        `json:"tls_ca,omitempty"`
	TLSCert          string        `json:"tls_cert,omitempty"`
	TLSKey           string        `json:"tls_key,omitempty"`
	Pool             string        `json:"pool"`
	ID               string        `json:"id"`
	MaxTasksPerChild int           `json:"max_tasks,omitempty"`
	AckWait          time.Duration `json:"ack_wait,omitempty"`
	LogLevel         string        `json:"log_level,omitempty"`
	// ExitOnDisconnect: the broker lives in the parent (an embedded one),
	// so a connection lost for good means the parent is gone: exit.
	ExitOnDisconnect bool   `json:"exit_on_disconnect,omitempty"`
	LogFormat        string `json:"log_format,omitempty"` // "text" (default) or "json"
	// StatusFD is the status pipe's descriptor or handle in the child; 0
	// means the constant StatusFD.
	StatusFD uintptr `json:"status_fd,omitempty"`
	// GOMAXPROCS, when above 0, is set in the child before it serves.
	GOMAXPROCS int `json:"gomaxprocs,omitempty"`
	// Once, when set, makes the child a one-shot process (pool.Start):
	// it runs this one call, writes its result on the status pipe, and
	// exits, instead of serving the pool's task stream.
	Once *OneShot `json:"once,omitempty"`
}

// ChildGOMAXPROCS maps a user's worker GOMAXPROCS setting to
// ChildConfig.GOMAXPROCS: 0 (unset) is 1, one thread per worker process as
// there is one process per CPU; -1 (Go's default) is 0, which the child
// leaves alone; n is n.
func ChildGOMAXPROCS(n int) int {
	switch {
	case n == 0:
		return 1
	case n < 0:
		return 0
	}
	return n
}

// OneShot is the one call a one-shot child runs.
type OneShot struct {
	Task string `json:"task"`
	Arg  []byte `json:"arg"` // the encoded argument, when it is small
	// ArgRef, when set, names the stored encoded argument instead: one
	// larger than the inline limit would swell the config (base64 in
	// JSON) past what ReadConfig reads. The parent deletes it once the
	// child has ended.
	ArgRef *wire.Ref `json:"arg_ref,omitempty"`
	TaskID string    `json:"task_id"` // what worker.Current reports
}

// maxConfig bounds the configuration line a child reads.
const maxConfig = 1 << 20

// ReadConfig reads a ChildConfig from r (the child's stdin): one JSON line,
// bounded in size. It reads no byte past that line's newline, because the
// parent keeps stdin open after it (StopLine): pass a *bufio.Reader over
// stdin and go on reading the control lines from it.
func ReadConfig(r io.ByteReader) (ChildConfig, error) {
	var c ChildConfig
	var line []byte
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, fmt.Errorf("spawn: read config: %w", err)
		}
		if b == '\n' {
			break
		}
		if len(line) == maxConfig {
			return c, fmt.Errorf("spawn: read config: longer than %d bytes", maxConfig)
		}
		line = append(line, b)
	}
	if err := json.Unmarshal(line, &c); err != nil {
		return c, fmt.Errorf("spawn: decode config: %w", err)
	}
	return c, nil
}

// Status line kinds a child writes, one per line: "<kind> <arg>".
const (
	StatusReady     = "ready"      // connected and about to take work
	StatusTake      = "take"       // arg: "<ack subject> <task name>" of the message now held
	StatusDone      = "done"       // arg: tasks executed so far; the held message is acked
	StatusInitError = "init-error" // arg: the initializer's error; the child exits
	StatusRecycle   = "recycle"    // MaxTasksPerChild reached; the child exits on purpose
	StatusTimeout   = "timeout"    // a task ignored its hard timeout; the child exits
	// StatusResult (one-shot children): arg is a byte count n; the n bytes
	// that follow the line are a wire result message with one result.
	StatusResult = "result"
)

// StatusLine formats one status line.
func StatusLine(kind, arg string) []byte {
	return []byte(kind + " " + strings.ReplaceAll(arg, "\n", " ") + "\n")
}

// ParseStatus splits a status line into kind and argument.
func ParseStatus(line string) (kind, arg string) {
	kind, arg, _ = strings.Cut(strings.TrimRight(line, "\n"), " ")
	return kind, arg
}

// NewStatusScanner reads status lines of bounded length.
func NewStatusScanner(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 64*1024)
	return s
}
