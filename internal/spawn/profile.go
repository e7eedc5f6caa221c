package spawn

// CPUProfileEnv names a directory where each worker process writes its CPU
// profile (worker-<pid>.pprof) when it exits normally. procpool bench
// --worker-cpuprofile sets it; the workers it spawns inherit it.
const CPUProfileEnv = "PROCPOOL_WORKER_CPUPROFILE"

// MemProfileEnv names a directory where each worker process writes its
// allocation profile (worker-<pid>.allocs.pprof) when it exits normally
// (procpool bench --worker-memprofile).
const MemProfileEnv = "PROCPOOL_WORKER_MEMPROFILE"
