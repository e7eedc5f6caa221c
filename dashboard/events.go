package dashboard

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub holds the latest state, encoded, and wakes the event streams when
// it changes.
type hub struct {
	mu      sync.Mutex
	data    []byte
	changed chan struct{} // closed and replaced at each new state
}

func newHub() *hub { return &hub{changed: make(chan struct{})} }

func (h *hub) set(data []byte) {
	h.mu.Lock()
	h.data = data
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *hub) get() ([]byte, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.data, h.changed
}

// keepAlive is how often an idle event stream gets a comment, so that
// proxies and the browser keep it open.
const keepAlive = 15 * time.Second

// serveEvents streams each new state as a server-sent event "state" until
// the client goes or the server closes.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	data, changed := s.hub.get()
	for {
		if data != nil {
			if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", data); err != nil {
				return
			}
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			fl.Flush()
			data = nil
		case <-changed:
			data, changed = s.hub.get()
		}
	}
}
