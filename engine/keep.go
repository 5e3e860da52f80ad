package engine

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Keeper is implemented by a Loader whose source keeps what it received in the store (the
// OpenLineage events), so that input can arrive other than in a file (posted to mlprov serve)
// and the source be synced from the store alone (see Keep and Resync).
type Keeper interface {
	Loader
	Identifier
	// Kept returns a digest of everything the store keeps for the format's source, "" when it
	// keeps nothing.
	Kept(ctx context.Context, q Querier) (string, error)
	// Restage fills the stage tables (see Stage) from what the store keeps of st's source.
	Restage(ctx context.Context, st *Stage) error
}

// KeptInput is the uri that a sync from what the store keeps records as its input.
const KeptInput = "(kept in the store)"

// Keep runs keep in one transaction on the source of k's format, which it adds, holding no
// rows yet, when the store has none, and returns the source's id: keep stores input there for
// a later Resync. source, when not 0, is the id an earlier Keep returned (a source keeps its
// id for good, a replace included), which spares looking it up. Keep returns once the
// transaction is committed (the input is durable) or rolled back, keep's error then.
func (e *Engine) Keep(ctx context.Context, k Keeper, source int64, keep func(conn *sql.Conn, sourceID int64) error) (int64, error) {
	identity, err := k.Identity("")
	if err != nil {
		return 0, fmt.Errorf("keep %s input: %w", k.Format(), err)
	}
	err = e.inTransaction(ctx, func(conn *sql.Conn) error {
		if source != 0 {
			return keep(conn, source)
		}
		src, err := findSource(ctx, conn, k.Format(), identity, "")
		if err != nil {
			return err
		}
		if src.id == 0 || !src.base.Valid {
			// A source loaded before syncs existed gets a new one beside it: its next load
			// rebuilds it anyway.
			if src.id, src.base.Int64, err = newSource(ctx, conn); err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, `INSERT INTO sources (source_id, kind, uri, fingerprint, loaded_at, rows, identity, id_base)
				VALUES (?, ?, ?, '', now()::TIMESTAMP, 0, ?, ?)`, src.id, k.Format(), KeptInput, identity, src.base.Int64); err != nil {
				return err
			}
		}
		source = src.id
		return keep(conn, source)
	})
	if err != nil {
		return 0, fmt.Errorf("keep %s input: %w", k.Format(), err)
	}
	return source, nil
}

// Resync syncs the source of k's format from what the store keeps of it, as Load syncs a
// source from a new input: runs are made again from every kept record, the store's rows are
// made equal to them and the derived tables refreshed, in one transaction. When nothing was
// kept since the source's last load or sync, it changes nothing (LoadResult.UpToDate).
// opts.Replace is ignored: the kept input is all there is.
func (e *Engine) Resync(ctx context.Context, k Keeper, opts LoadOptions) (LoadResult, error) {
	began := time.Now()
	res := LoadResult{Format: k.Format()}
	identity, err := k.Identity("")
	if err != nil {
		return res, fmt.Errorf("sync %s: %w", KeptInput, err)
	}
	// Records kept after this digest was taken are staged too; the next Resync then finds
	// the digest changed and syncs again, to the same rows.
	fp, err := k.Kept(ctx, e.db)
	if err != nil {
		return res, fmt.Errorf("sync %s: %w", KeptInput, err)
	}
	if fp == "" {
		res.UpToDate = true
		return res, nil
	}
	opts.Replace = false
	in := input{shown: KeptInput, abs: KeptInput, identity: identity, fp: fp, stage: k.Restage}
	return e.load(ctx, k, in, opts, began)
}
