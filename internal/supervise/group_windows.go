package supervise

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procGroup is a worker's job object: a kill ends the worker and whatever
// it started (a process a job's member starts joins the job), and with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE Windows ends them all when the last
// handle to the job closes, which happens when the parent exits however it
// exits. The parent closes it itself once the worker is reaped, which ends
// what the worker left running.
type procGroup struct {
	mu  sync.Mutex
	job windows.Handle // 0 once closed
}

// newGroup puts p in a new job. p has not read its configuration yet (it
// is written after this), so it cannot have started anything outside it.
func newGroup(p *os.Process) (*procGroup, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("procpool: create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("procpool: set up job object: %w", err)
	}
	// os.Process keeps its handle to itself; the pid cannot be reused while
	// it is held.
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err == nil {
		err = windows.AssignProcessToJobObject(job, h)
		windows.CloseHandle(h)
	}
	if err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("procpool: put worker process %d in a job object: %w", p.Pid, err)
	}
	return &procGroup{job: job}, nil
}

// kill ends the worker and everything in its job (TerminateJobObject) with
// exitTerminated.
func (g *procGroup) kill() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		_ = windows.TerminateJobObject(g.job, exitTerminated)
	}
}

// close closes the job's handle, ending what is left in it.
func (g *procGroup) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		windows.CloseHandle(g.job)
		g.job = 0
	}
}
