// Package serve is mlprov's HTTP server: an OpenLineage endpoint compatible with Marquez's
// (POST /api/v1/lineage) that keeps every acknowledged event durable in the store, and JSON
// reads of what the store derives (pipelines, graphlets, lineage, analyses, advice,
// read-only SQL), and pages for a browser that show the same, drawn with html/template and
// assets embedded in the binary (see pages.go).
//
// One goroutine writes: posted events queue up while it commits, and it commits all the
// events that queued during the previous commit in the next one (group commit). A
// request is answered 201 only once its event's transaction has committed. The runs the
// events make, and the derived tables, follow in the background (see Options.Quiet): the
// OpenLineage source is synced from the events the store keeps, as mlprov load syncs it.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"mlprov/engine"
	"mlprov/loaders/openlineage"
)

// DefaultAddr is where the server listens unless told otherwise: this machine only.
const DefaultAddr = "127.0.0.1:8484"

// ErrExposed means the server was asked to listen beyond this machine without a token.
var ErrExposed = errors.New("listening beyond this machine needs a token")

// Options tune a server. The zero value serves with the defaults below.
type Options struct {
	// Token, when set, must come with every POST as "Authorization: Bearer TOKEN".
	Token string
	// Quiet is how long derivation waits after an event is kept for more to arrive (default
	// 500ms); MaxLag bounds how long it waits while they keep arriving (default 2s).
	Quiet, MaxLag time.Duration
	// QueryTimeout bounds one SQL query (default 10s); QueryRows the rows it returns
	// (default 10,000): more are cut off, and the response says so.
	QueryTimeout time.Duration
	QueryRows    int
	// Log receives a line per derivation and per failure (default: discard).
	Log *slog.Logger
	// Version is mlprov's version, which the report page names.
	Version string
}

func (o *Options) defaults() {
	if o.Quiet <= 0 {
		o.Quiet = 500 * time.Millisecond
	}
	if o.MaxLag <= 0 {
		o.MaxLag = 2 * time.Second
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 10 * time.Second
	}
	if o.QueryRows <= 0 {
		o.QueryRows = 10000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Server serves one store. Create it with New; callers must Close it, after the HTTP
// server that uses its Handler has shut down.
type Server struct {
	eng     *engine.Engine
	opts    Options
	writer  *writer
	deriver *deriver
	query   *querier
	report  reportCache
	handler http.Handler
}

// New starts the server's writer and deriver on eng and locks the store down (see
// engine.Engine.Lockdown): from then on no statement can reach the file system or the
// network, or change a setting. eng stays the caller's to close, after Close.
func New(ctx context.Context, eng *engine.Engine, opts Options) (*Server, error) {
	opts.defaults()
	if err := eng.Lockdown(ctx); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	inbox, err := openlineage.OpenInbox(ctx, eng)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	q, err := newQuerier(ctx, eng, opts.QueryTimeout, opts.QueryRows)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{eng: eng, opts: opts, query: q}
	s.deriver = newDeriver(eng, opts.Quiet, opts.MaxLag, opts.Log)
	// Events kept before a crash may not have been derived yet: catch up at once.
	s.deriver.kick()
	s.writer = newWriter(inbox, s.deriver.kick, opts.Log)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the writer once every queued event is committed, brings the derived tables up
// to date with them, and releases the query connection. The HTTP server must have shut down
// first (http.Server.Shutdown), so that no request is left waiting for the writer.
func (s *Server) Close() error {
	s.writer.stop()
	err := s.deriver.stop()
	return errors.Join(err, s.query.close())
}

// CheckAddr refuses to listen at addr beyond the loopback interface without a token: an
// empty host (every interface) or any address but 127.0.0.0/8, ::1 and localhost.
func CheckAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if token != "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return fmt.Errorf("address %s (%s): %w", addr, host, ErrExposed)
}

// Serve listens at addr and serves eng until ctx is done; then it stops taking connections,
// lets the requests in flight finish (for at most grace), and closes the server (see Close).
// ready, when set, is called with the address it listens at (useful with port 0).
func Serve(ctx context.Context, eng *engine.Engine, addr string, grace time.Duration, opts Options, ready func(net.Addr)) error {
	if err := CheckAddr(addr, opts.Token); err != nil {
		return err
	}
	opts.defaults()
	s, err := New(ctx, eng, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Join(fmt.Errorf("serve: %w", err), s.Close())
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(opts.Log.Handler(), slog.LevelWarn)}
	if ready != nil {
		ready(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return errors.Join(fmt.Errorf("serve: %w", err), s.Close())
	case <-ctx.Done():
	}
	s.opts.Log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, s.Close())
}
