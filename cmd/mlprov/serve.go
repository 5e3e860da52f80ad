package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/pflag"

	"mlprov/engine"
	"mlprov/serve"
)

type serveOptions struct {
	common
	addr, token string
}

// serveCmd is `mlprov serve`: an OpenLineage endpoint and the store's API over HTTP.
type serveCmd command[serveOptions]

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "serve", `mlprov serve [--db FILE] [--addr 127.0.0.1:8484] [--token TOKEN]

Holds the store and serves it over HTTP until SIGINT or SIGTERM, which let the requests
in flight finish and close the store cleanly. OpenLineage clients post their events to
POST /api/v1/lineage (OPENLINEAGE_URL=http://127.0.0.1:8484): each is answered 201 once it
is committed to the store, and its run is merged into the store's OpenLineage source
within a few seconds, as mlprov load merges runs. GET /api/v1/pipelines, /graphlets/ID,
/lineage?node=a:ID, /analyses, /query?sql=... read the store as JSON, and POST
/api/v1/advise answers as mlprov advise --json; the SQL runs read-only, without access to
files or the network, within a time and a row limit. The same address serves pages for a
browser: the overview at /, /pipelines/ID, /graphlets/ID, /lineage, /report/ and /sql.
Listening beyond this machine (any address but a loopback one) needs --token, which every
POST must then bring as "Authorization: Bearer TOKEN".`,
		c.dbFlag(&c.opts.db),
		own(func(fs *pflag.FlagSet) {
			fs.StringVar(&c.opts.addr, "addr", serve.DefaultAddr, "the address to listen at (host:port)")
			// Not the flag's default: --help would print the secret.
			fs.StringVar(&c.opts.token, "token", "", "the bearer token POSTs must bring (env MLPROV_TOKEN); needed to listen beyond loopback")
		}))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve", "serve takes no arguments")
	}
	if c.opts.token == "" {
		c.opts.token = c.getenv("MLPROV_TOKEN")
	}
	if err := serve.CheckAddr(c.opts.addr, c.opts.token); err != nil {
		if errors.Is(err, serve.ErrExposed) {
			return &hintError{err: err, hint: "mlprov serve --addr " + c.opts.addr + " --token TOKEN (or MLPROV_TOKEN), or --addr 127.0.0.1:8484"}
		}
		return usagef("serve", "--addr: %w", err)
	}
	e, err := engine.Open(ctx, c.opts.db, engine.Options{})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	err = serve.Serve(ctx, e, c.opts.addr, 30*time.Second, serve.Options{Token: c.opts.token, Log: log, Version: mlprovVersion()}, func(a net.Addr) {
		fmt.Fprintf(c.stdout, "serving %s at http://%s (OPENLINEAGE_URL=http://%s)\n", c.opts.db, a, a)
	})
	if cerr := e.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close %s: %w", c.opts.db, cerr))
	}
	if err != nil {
		return err
	}
	log.Info("stopped; the store is closed")
	return nil
}
