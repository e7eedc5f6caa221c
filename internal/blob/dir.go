package blob

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// dirPrefix starts every value directory's name; wire.Ref's file names
// are checked against it, so a reference cannot point anywhere else.
const dirPrefix = "procpool-"

// Root is the directory value directories live in on this host: shared
// memory (/dev/shm) where it exists and is writable, so that a value passes
// from one process to another without a disk; else the temp directory.
// PROCPOOL_VALUE_ROOT overrides both (every process of a pool must agree,
// and children inherit it).
func Root() string {
	if r := os.Getenv("PROCPOOL_VALUE_ROOT"); r != "" {
		return r
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", ".procpool-probe-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// Dir is one process's value directory: the values it stores for its
// readers on this host, and the results its workers return to it.
type Dir struct {
	root string
	name string // dirPrefix + pid + "_" + random: the form Sweep reads
	seq  atomic.Uint64
}

// NewDir creates a value directory for this process under Root (mode
// 0700), first sweeping away those of processes that no longer run.
func NewDir() (*Dir, error) {
	root := Root()
	Sweep(root)
	name := dirPrefix + strconv.Itoa(os.Getpid()) + "_" + randomToken(8)
	if err := os.Mkdir(filepath.Join(root, name), 0o700); err != nil {
		return nil, fmt.Errorf("procpool: value directory: %w", err)
	}
	return &Dir{root: root, name: name}, nil
}

// Name is the directory's name, as workers are told it and as file refs
// begin.
func (d *Dir) Name() string { return d.name }

// Path is the directory's path.
func (d *Dir) Path() string { return filepath.Join(d.root, d.name) }

// Write stores the concatenation of parts in a new file of the directory.
func (d *Dir) Write(prefix string, parts ...[]byte) (wire.Ref, error) {
	return WriteIn(d.name, prefix+strconv.FormatUint(d.seq.Add(1), 36), parts...)
}

// Expire removes the files of the directory older than age: results a
// worker began to store and never announced (it was killed mid-write), or
// that nobody fetched. It returns how many it removed.
func (d *Dir) Expire(age time.Duration) int {
	entries, err := os.ReadDir(d.Path())
	if err != nil {
		return 0
	}
	n := 0
	cutoff := time.Now().Add(-age)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		if os.Remove(filepath.Join(d.Path(), e.Name())) == nil {
			n++
		}
	}
	return n
}

// Remove deletes the directory and every value left in it.
func (d *Dir) Remove() error { return os.RemoveAll(d.Path()) }

// WriteIn stores the concatenation of parts as a new file in the value
// directory dirName (another process's, on this host: a worker returning
// a result to its caller). The file's name is prefix plus a random part.
func WriteIn(dirName, prefix string, parts ...[]byte) (wire.Ref, error) {
	ref := wire.Ref{Kind: wire.RefFile, Name: dirName + "/" + prefix + "-" + randomToken(6), Size: size(parts)}
	if err := ref.Valid(); err != nil {
		return ref, err
	}
	path := filepath.Join(Root(), filepath.FromSlash(ref.Name))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ref, fmt.Errorf("procpool: store value: %w", err)
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return ref, fmt.Errorf("procpool: store value: %w", err)
	}
	return ref, nil
}

// ErrMissing says a stored value is gone: deleted by its owner (a call
// that was cancelled), or past its TTL.
var ErrMissing = errors.New("stored value missing")

// readFile reads a file ref's value, checking its size.
func readFile(ref wire.Ref) ([]byte, error) {
	if err := ref.Valid(); err != nil || ref.Kind != wire.RefFile {
		return nil, fmt.Errorf("procpool: bad file ref %v: %v", ref, err)
	}
	f, err := os.Open(filepath.Join(Root(), filepath.FromSlash(ref.Name)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %v (not on this host, or already deleted)", ErrMissing, ref)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readExactly(f, ref)
}

// readExactly reads a value of ref.Size bytes from r into a buffer of
// that size, and checks that r ends there.
func readExactly(r io.Reader, ref wire.Ref) ([]byte, error) {
	b := make([]byte, ref.Size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("procpool: stored value %v cut short: %w", ref, err)
	}
	var one [1]byte
	if n, err := r.Read(one[:]); n != 0 || err != io.EOF {
		return nil, fmt.Errorf("procpool: stored value %v is longer than its %d bytes (%v)", ref, ref.Size, err)
	}
	return b, nil
}

func removeFile(ref wire.Ref) error {
	if err := ref.Valid(); err != nil || ref.Kind != wire.RefFile {
		return fmt.Errorf("procpool: bad file ref %v: %v", ref, err)
	}
	err := os.Remove(filepath.Join(Root(), filepath.FromSlash(ref.Name)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Sweep removes the value directories under root whose owner process has
// exited (a caller that was killed and could not remove its own).
func Sweep(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(e.Name(), dirPrefix), "_")
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) || !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(root, e.Name()))
	}
}

func size(parts [][]byte) int64 {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return int64(n)
}

// randomToken is n random bytes in hex: names nobody can predict.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
