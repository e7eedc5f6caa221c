package dashboard_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium or Chrome binary. Outside CI a missing browser
// skips the test; in CI (CI set), whose .ci/run installs Debian's
// chromium, it fails it: there a skip would hide that nothing was tested.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI: no chromium on PATH (.ci/run installs Debian's chromium)")
	}
	t.Skip("no chromium on PATH: the dashboard's browser tests need one (apt-get install chromium)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and nothing
// that would reach the network on its own, and returns its tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1400, 1100),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	// The first action launches the browser, whose life is then tied to
	// the context it ran with: this one, not a shorter one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// navigate loads url in the tab, waits for the page to load, and returns
// the response of its document (after any redirect).
func navigate(t *testing.T, ctx context.Context, url string) *network.Response {
	t.Helper()
	nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(nctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
	return resp
}

// open loads the page at url, which must answer 200 OK, and waits until it
// has rendered a state from the server (body[data-updates] set by app.js)
// with the pool's section.
func open(t *testing.T, ctx context.Context, url, poolName string) {
	t.Helper()
	if resp := navigate(t, ctx, url); resp.Status != 200 {
		t.Fatalf("navigate to %s: %d %s", url, resp.Status, resp.StatusText)
	}
	waitJS(t, ctx, 30*time.Second, "the page to render the pool",
		`document.body.dataset.updates > 0 && document.querySelector('section.pool[data-pool="`+poolName+`"] .chart canvas') !== null`,
		func(ok bool) bool { return ok })
}

// evalJS evaluates expr in the page.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ectx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS evaluates expr until cond holds of its value, and fails t if d
// passes first, showing the last value.
func waitJS[T any](t *testing.T, ctx context.Context, d time.Duration, what, expr string, cond func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
		v, err := chromedp.Run(ectx, chromedp.Evaluate[T](expr))
		cancel()
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: last value %+v, err %v", d, what, v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshot saves the page as PNG at $PROCPOOL_DASHBOARD_SCREENSHOT, if set.
func screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	path := os.Getenv("PROCPOOL_DASHBOARD_SCREENSHOT")
	if path == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
