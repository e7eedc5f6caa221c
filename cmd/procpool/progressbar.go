package main

import (
	"io"
	"os"

	"github.com/procpool/procpool/pool"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressOptions draws a progress bar of a Map/IMap call on out, only
// when out is a terminal; otherwise it returns no option. Call finish when
// the call returns.
func progressOptions(out io.Writer, desc string) (opts []pool.MapOption, finish func()) {
	if !isTerminal(out) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(out), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000)) // 100ms between redraws
	return []pool.MapOption{pool.WithProgress(func(p pool.Progress) {
			if p.Total >= 0 && bar.GetMax() != p.Total {
				bar.ChangeMax(p.Total)
			}
			_ = bar.Set(p.Done)
		})}, func() {
			_ = bar.Finish()
		}
}

// isTerminal reports whether out is a terminal.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stepBar draws a bar of steps on out, only when out is a terminal, for a
// long section made of steps (a benchmark's repeats): call step after each
// and finish (which clears the bar) before printing anything else.
func stepBar(out io.Writer, desc string, steps int) (step, finish func()) {
	if !isTerminal(out) {
		return func() {}, func() {}
	}
	bar := progressbar.NewOptions(steps, progressbar.OptionSetWriter(out), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
	return func() { _ = bar.Add(1) }, func() { _ = bar.Finish() }
}
