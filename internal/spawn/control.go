package spawn

import "os"

// The parent keeps a child's stdin open for the child's whole life, after
// the configuration line, as its control channel. It writes at most one
// more line, StopLine, to ask for a graceful stop (on Windows, which has no
// SIGTERM, and on Unix in the portable test mode). End of file means the
// parent is gone: the kernel closes the parent's end when the parent exits,
// however it exits, SIGKILL included, on every platform. The child then
// exits at once; its broker and its results' receiver went with the parent.
const StopLine = "stop"

// PortableEnv, set to "1", turns off the mechanisms that only some
// platforms have (PR_SET_PDEATHSIG, the parent-pid poll, SIGTERM as the
// graceful stop), so that the test suite run on Linux proves what macOS and
// Windows rely on alone: the stdin control channel. It is for tests and CI
// only; children inherit it with the environment.
const PortableEnv = "PROCPOOL_TEST_PORTABLE"

// Portable reports whether PortableEnv is set.
func Portable() bool { return os.Getenv(PortableEnv) == "1" }
