package dashboard

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

// DefaultListen is the address a dashboard listens on by default: loopback.
const DefaultListen = "127.0.0.1:8222"

// Errors Start returns.
var (
	// ErrInvalidConfig wraps every error from a Config Start refuses.
	ErrInvalidConfig = errors.New("dashboard: invalid config")
	// ErrTokenRequired: the listen address is not loopback and there is no
	// token, so anyone who can reach it would see the pool.
	ErrTokenRequired = errors.New("dashboard: a non-loopback listen address requires a token")
)

// Config is what Start needs.
type Config struct {
	// Conn is the connection the dashboard reads the pools through, with
	// the pools' own credentials (a caller's are enough). Required; Close
	// leaves it open.
	Conn *nats.Conn
	// Pools are the pools shown. Exactly one of Pools and All.
	Pools []string
	// All shows every pool the connection hears from.
	All bool
	// Listen is the host:port to serve on. Default DefaultListen; port 0
	// picks a free one (see Server.Addr).
	Listen string
	// Token, when set, is required of every request: once as ?token= on
	// the page's URL (the page then keeps it in a cookie), or as an
	// "Authorization: Bearer" header. Required when Listen is not a
	// loopback address.
	Token string
	// AllowControl adds the control actions (drain a worker). Default:
	// read-only.
	AllowControl bool
	// Interval is how often the state is refreshed. Default 1s.
	Interval time.Duration
	// Logger gets the server's errors. Default: slog.Default().
	Logger *slog.Logger
}

// Server is a running dashboard.
type Server struct {
	cfg  Config
	col  *collector
	hub  *hub
	ln   net.Listener
	http *http.Server
	log  *slog.Logger

	ctx       context.Context // ends at Close: the state's queries, the event streams
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

//go:embed assets
var assets embed.FS

// cookieName holds the token once the page has been opened with it.
const cookieName = "procpool_dashboard"

// Start validates cfg, listens, and serves the dashboard until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Conn == nil {
		return nil, fmt.Errorf("%w: no connection", ErrInvalidConfig)
	}
	if cfg.All == (len(cfg.Pools) > 0) {
		return nil, fmt.Errorf("%w: give pools or All, not both or neither", ErrInvalidConfig)
	}
	for _, p := range cfg.Pools {
		if err := wire.ValidPoolName(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Interval < 100*time.Millisecond {
		return nil, fmt.Errorf("%w: interval %s: want at least 100ms", ErrInvalidConfig, cfg.Interval)
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return nil, fmt.Errorf("%w: token contains white space", ErrInvalidConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w: listen address %q: %v", ErrInvalidConfig, cfg.Listen, err)
	}
	if !isLoopback(host) && cfg.Token == "" {
		return nil, fmt.Errorf("%w: %q", ErrTokenRequired, cfg.Listen)
	}
	col, err := newCollector(cfg.Conn, cfg.Pools, cfg.All, cfg.AllowControl)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		col.close()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &Server{cfg: cfg, col: col, hub: newHub(), ln: ln, log: cfg.Logger}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	s.refresh(true) // the first state, before the first request
	s.wg.Go(s.loop)
	s.wg.Go(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("dashboard: serve", "err", err)
		}
	})
	return s, nil
}

// Addr is the address the dashboard listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the page's address (without the token).
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Close stops serving: open pages lose their event stream.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = s.http.Close()
		s.wg.Wait()
		s.col.close()
	})
	return err
}

// loop refreshes the state every interval.
func (s *Server) loop() {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	lastList := time.Now()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			list := now.Sub(lastList) >= streamsEvery
			if list {
				lastList = now
			}
			s.refresh(list)
		}
	}
}

func (s *Server) refresh(listStreams bool) {
	st := s.col.tick(s.ctx, time.Now(), listStreams)
	data, err := json.Marshal(st)
	if err != nil {
		s.log.Error("dashboard: encode state", "err", err)
		return
	}
	s.hub.set(data)
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("token"); tok != "" && s.cfg.Token != "" {
			// Keep the token in a cookie and drop it from the address bar
			// (and from the history). Lax, not Strict: a browser does not
			// send a Strict cookie on a redirect of a navigation another
			// site started, so a link to the page from a chat or a wiki
			// would land on the refusal. Lax still keeps the cookie off
			// cross-site POSTs and subresources.
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) {
		data, _ := s.hub.get()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(data)
	})
	if s.cfg.AllowControl {
		mux.HandleFunc("POST /api/drain", s.drain)
	}
	return s.guard(mux)
}

// guard checks every request's Host (against DNS rebinding: without a
// token, only loopback names), its token, and sets headers that keep the
// page from being framed or fetching from elsewhere.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if s.cfg.Token == "" {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			if !isLoopback(host) {
				http.Error(w, "forbidden host", http.StatusForbidden)
				return
			}
		} else if !s.authorized(r) {
			http.Error(w, "token required: open the page as /?token=…", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	var got string
	if c, err := r.Cookie(cookieName); err == nil {
		got = c.Value
	}
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = a
	}
	if r.URL.Path == "/" && r.URL.Query().Has("token") {
		got = r.URL.Query().Get("token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1
}

// drainRequest is the body of POST /api/drain.
type drainRequest struct {
	Pool   string `json:"pool"`
	Worker string `json:"worker"`
}

// drain asks one worker to finish its task and exit. Only a same-origin
// script can call it: it needs a JSON body and a custom header, which a
// cross-site form cannot send without the browser asking first.
func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Procpool-Control") != "1" || !sameOrigin(r) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var req drainRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := wire.ValidPoolName(req.Pool); err != nil || req.Worker == "" || len(req.Worker) > 200 {
		http.Error(w, "bad request: pool and worker required", http.StatusBadRequest)
		return
	}
	if !s.col.shows(req.Pool, req.Worker) {
		http.Error(w, "no such worker", http.StatusNotFound)
		return
	}
	msg, err := s.cfg.Conn.Request(worker.ControlSubject(req.Pool, req.Worker, worker.EndpointDrain), nil, 5*time.Second)
	if err != nil {
		http.Error(w, "drain: "+err.Error(), http.StatusBadGateway)
		return
	}
	s.log.Info("dashboard: drain requested", "pool", req.Pool, "worker", req.Worker, "from", r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(msg.Data)
}

// shows reports whether the dashboard lists that worker of that pool.
func (c *collector) shows(pool, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pools[pool]
	return p != nil && p.workers[id] != nil
}

// sameOrigin reports whether a request's Origin, when it has one, is the
// dashboard's own.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == "http://"+r.Host || o == "https://"+r.Host
}

// isLoopback reports whether host (a name or an address) is loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
