package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"

	"mlprov/catalog"
	mlsql "mlprov/sql"
)

// ErrCycle means the provenance holds a cycle: an execution that, through the artifacts it
// reads, depends on its own output.
var ErrCycle = errors.New("provenance cycle")

// View is one derived relation: sql/views/NAME.sql holds its defining SELECT. The store keeps
// it twice: as a live view views.NAME, and materialized as the table NAME, which the engine
// refreshes after every load.
type View struct {
	Name        string
	Description string
	SQL         string
	deps        []string
}

// Views returns the derived relations in dependency order: each after every view it reads.
func Views() []View {
	entries, err := fs.ReadDir(mlsql.FS, "views")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	byName := map[string]*View{}
	var names []string
	for _, e := range entries {
		text, err := fs.ReadFile(mlsql.FS, "views/"+e.Name())
		if err != nil {
			panic(err)
		}
		h, err := catalog.ParseHeader("views/"+e.Name(), text, "name", "description")
		if err != nil {
			panic(err) // checked by the tests
		}
		name := catalog.Value(h, "name")
		byName[name] = &View{Name: name, Description: catalog.Value(h, "description"), SQL: strings.TrimSpace(string(text))}
		names = append(names, name)
	}
	for _, v := range byName {
		for _, other := range names {
			if other != v.Name && regexp.MustCompile(`\b`+other+`\b`).MatchString(stripComments(v.SQL)) {
				v.deps = append(v.deps, other)
			}
		}
	}
	var order []View
	done := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if done[n] {
			return
		}
		done[n] = true
		v := byName[n]
		for _, d := range v.deps {
			visit(d)
		}
		order = append(order, *v)
	}
	sort.Strings(names)
	for _, n := range names {
		visit(n)
	}
	return order
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		code, _, _ := strings.Cut(line, "--")
		b.WriteString(code)
		b.WriteByte('\n')
	}
	return b.String()
}

// viewsFingerprint identifies the definitions, so a store refreshes its derived tables when
// a new mlprov changes them.
func viewsFingerprint() string {
	h := sha256.New()
	for _, v := range Views() {
		fmt.Fprintf(h, "%s\x00%s\x00", v.Name, v.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// execer is what both *sql.DB and *sql.Conn offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// derivedStale reports whether the store's derived tables were built from other definitions.
func (e *Engine) derivedStale(ctx context.Context) (bool, error) { return derivedStale(ctx, e.db) }

// derivedStale does Engine.derivedStale's work on db, which may be inside a transaction.
func derivedStale(ctx context.Context, db execer) (bool, error) {
	var fp string
	err := db.QueryRowContext(ctx, `SELECT value FROM mlprov_meta WHERE key = 'views_fingerprint'`).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read views fingerprint: %w", err)
	}
	return fp != viewsFingerprint(), nil
}

// Materialize recreates the live views and refreshes every derived table from the canonical
// tables, in one transaction. Progress, when set, hears how long each table took.
func (e *Engine) Materialize(ctx context.Context, progress func(string)) error {
	return e.inTransaction(ctx, func(conn *sql.Conn) error { return materialize(ctx, conn, progress) })
}

// materialize does Materialize's work inside the caller's transaction.
func materialize(ctx context.Context, db execer, progress func(string)) error {
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS views`); err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	for _, v := range Views() {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW views.%s AS %s", v.Name, v.SQL)); err != nil {
			return fmt.Errorf("materialize: view %s: %w", v.Name, err)
		}
	}
	for _, v := range Views() {
		if v.Name == "graphlet_executions" {
			// The recursion ends on cyclic input too; refuse it with the cycle named instead.
			// No DISTINCT: it took half of the check's time at the paper's scale.
			if err := checkAcyclic(ctx, db, `SELECT producer_id, consumer_id FROM main.lineage_edges`); err != nil {
				return fmt.Errorf("materialize: %w", err)
			}
		}
		start := time.Now()
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE main.%s AS %s", v.Name, v.SQL)); err != nil {
			return fmt.Errorf("materialize %s: %w", v.Name, err)
		}
		if progress != nil {
			var n int64
			_ = db.QueryRowContext(ctx, "SELECT count(*) FROM main."+v.Name).Scan(&n) // the count only decorates the line
			progress(fmt.Sprintf("materialized %s: %d rows in %.2fs", v.Name, n, time.Since(start).Seconds()))
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO mlprov_meta VALUES ('views_fingerprint', ?)`, viewsFingerprint()); err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	if err := recordDerivation(ctx, db); err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	return nil
}

// checkAcyclic looks for a cycle among executions linked producer -> consumer by the pairs
// that edges selects (producer_id, consumer_id, a pair may repeat; Kahn's algorithm), and
// names one when it finds it.
func checkAcyclic(ctx context.Context, db execer, edges string) error {
	// Executions are most often numbered in the order they ran, and then every edge goes
	// from a smaller id to a larger one, which no cycle can do: the ids are an order of the
	// graph. Only an edge back (or a self-loop) needs the graph read out and walked.
	var back bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM (`+edges+`) e WHERE producer_id >= consumer_id)`).Scan(&back); err != nil {
		return err
	}
	if !back {
		return nil
	}
	rows, err := db.QueryContext(ctx, `
		WITH e AS (`+edges+`),
		ids AS (
			SELECT id, (row_number() OVER (ORDER BY id) - 1)::INTEGER AS idx
			FROM (SELECT producer_id AS id FROM e UNION SELECT consumer_id FROM e))
		SELECT p.idx, c.idx, p.id, c.id
		FROM e
		JOIN ids p ON p.id = e.producer_id
		JOIN ids c ON c.id = e.consumer_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var from, to []int32
	var ids []int64 // execution id by index
	for rows.Next() {
		var p, c int32
		var pid, cid int64
		if err := rows.Scan(&p, &c, &pid, &cid); err != nil {
			return err
		}
		from = append(from, p)
		to = append(to, c)
		for _, n := range [2]struct {
			idx int32
			id  int64
		}{{p, pid}, {c, cid}} {
			for int(n.idx) >= len(ids) {
				ids = append(ids, 0)
			}
			ids[n.idx] = n.id
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	n := len(ids)
	indeg := make([]int32, n)
	for _, c := range to {
		indeg[c]++
	}
	// Adjacency in compressed rows: the out-edges of node i are next[start[i]:start[i+1]].
	start := make([]int32, n+1)
	for _, p := range from {
		start[p+1]++
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	next := make([]int32, len(from))
	fill := append([]int32(nil), start[:n]...)
	for i, p := range from {
		next[fill[p]] = to[i]
		fill[p]++
	}
	queue := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, int32(i))
		}
	}
	for k := 0; k < len(queue); k++ {
		for _, c := range next[start[queue[k]]:start[queue[k]+1]] {
			if indeg[c]--; indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if len(queue) == n {
		return nil
	}
	// Every node left has a predecessor left: walk predecessors until one repeats.
	pred := make([]int32, n)
	for i := range pred {
		pred[i] = -1
	}
	for i, p := range from {
		if indeg[p] > 0 && indeg[to[i]] > 0 {
			pred[to[i]] = p
		}
	}
	node := int32(-1)
	for i := 0; i < n; i++ {
		if indeg[i] > 0 {
			node = int32(i)
			break
		}
	}
	seen := map[int32]int{}
	var path []int64
	for {
		if at, ok := seen[node]; ok {
			path = path[at:]
			break
		}
		seen[node] = len(path)
		path = append(path, ids[node])
		node = pred[node]
	}
	return describeCycle(ctx, db, path)
}

// describeCycle names the executions of a cycle found by walking predecessors from path[0].
func describeCycle(ctx context.Context, db execer, path []int64) error {
	var parts []string
	var ids []int64
	for i := len(path) - 1; i >= 0; i-- {
		var op string
		if err := db.QueryRowContext(ctx, `SELECT op_type FROM executions WHERE execution_id = ?`, path[i]).Scan(&op); err != nil {
			return err
		}
		parts = append(parts, fmt.Sprintf("execution %d (%s)", path[i], op))
		ids = append(ids, path[i])
	}
	// Start at the smallest id, so the same cycle is always told the same way.
	first := 0
	for i := range ids {
		if ids[i] < ids[first] {
			first = i
		}
	}
	parts = append(parts[first:], parts[:first]...)
	parts = append(parts, parts[0])
	return fmt.Errorf("%w: %s read each other's outputs: fix the input's events", ErrCycle, strings.Join(parts, " -> "))
}
