package supervise

// askStop asks a worker to finish the task in hand and exit with the stop
// line on its stdin: Windows has no SIGTERM.
func (cp *childProc) askStop() { cp.ctl.askStop() }

// terminate ends a one-shot child and what it started, as Kill does:
// Windows has no SIGTERM, and Python's Process.terminate uses
// TerminateProcess there too.
func (cp *childProc) terminate() error {
	cp.grp.kill()
	return nil
}
