package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"mlprov/catalog"
)

// StoreInfo identifies what a store holds, for manifests of the results drawn from it.
type StoreInfo struct {
	// Fingerprint is "sha256:" and the hex SHA-256 of the sources' content fingerprints, sorted
	// and one per line: two stores that loaded the same inputs have the same fingerprint,
	// whatever the order, paths or times of the loads.
	Fingerprint string
	Sources     []catalog.Source
	// Seed is the generator's seed when every pipeline that records one (attrs.seed, written
	// by mlprov gen) records the same; empty otherwise.
	Seed string
}

// Info describes the store: its sources, their combined fingerprint and the generator seed.
func (e *Engine) Info(ctx context.Context) (StoreInfo, error) {
	var info StoreInfo
	rows, err := e.db.QueryContext(ctx, `SELECT source_id, kind, uri, fingerprint, loaded_at, rows FROM sources ORDER BY source_id`)
	if err != nil {
		return info, fmt.Errorf("read sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s catalog.Source
		if err := rows.Scan(&s.ID, &s.Kind, &s.URI, &s.Fingerprint, &s.LoadedAt, &s.Rows); err != nil {
			return info, fmt.Errorf("read sources: %w", err)
		}
		info.Sources = append(info.Sources, s)
	}
	if err := rows.Err(); err != nil {
		return info, fmt.Errorf("read sources: %w", err)
	}
	var fps string
	err = e.db.QueryRowContext(ctx, `SELECT coalesce(string_agg(fingerprint || chr(10), '' ORDER BY fingerprint), '') FROM sources`).Scan(&fps)
	if err != nil {
		return info, fmt.Errorf("fingerprint the store: %w", err)
	}
	sum := sha256.Sum256([]byte(fps))
	info.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
	// A corpus made by mlprov gen records its seed on each pipeline; anything else has none,
	// or several, and then no one seed describes the store.
	var seeds int
	var seed string
	err = e.db.QueryRowContext(ctx, `SELECT count(DISTINCT s), coalesce(min(s), '')
		FROM (SELECT attrs->>'seed' AS s FROM pipelines) WHERE s IS NOT NULL`).Scan(&seeds, &seed)
	if err != nil {
		return info, fmt.Errorf("read the generator seed: %w", err)
	}
	if seeds == 1 {
		info.Seed = seed
	}
	return info, nil
}
