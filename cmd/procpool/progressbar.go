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
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
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
