package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mlprov/engine"
)

// Members summarises a set of (graphlet, execution) pairs, so that alternatives can be
// compared without holding millions of pairs: how many, over how many graphlets, and a
// checksum that does not depend on order.
type Members struct {
	Pairs     int64
	Graphlets int64
	Checksum  int64
}

// checksumMod keeps the checksum's terms small enough to add up in an int64.
const checksumMod = 1_000_000_007

func pairTerm(graphlet, execution int64) int64 {
	return (graphlet*1_000_003 + execution) % checksumMod
}

// summarise is the SQL that turns a query of (graphlet_id, execution_id) pairs into Members.
func summarise(pairs string) string {
	return fmt.Sprintf(`SELECT count(*), count(DISTINCT graphlet_id),
		coalesce(sum((graphlet_id * 1000003 + execution_id) %% %[1]d) %% %[1]d, 0)::BIGINT FROM (%[2]s)`, checksumMod, pairs)
}

// Store is what the alternatives read: a store whose derived tables are materialized, and
// the MLMD store its provenance came from, for the walk through MLMD's API.
type Store struct {
	DB *sql.DB
	// MLMD is the path of an MLMD SQLite store that loads to the same provenance; empty
	// when there is none, and the MLMD walk cannot run.
	MLMD string
	// MLMDOffset is what the loader adds to MLMD's ids in DB (see MLMDWalk).
	MLMDOffset int64
}

// Alternative is one way to find the executions of every model graphlet (the recursive part
// of graphlet_members) in a store whose other derived tables are materialized.
type Alternative struct {
	Name        string
	Description string
	// SQL is the query for alternatives that are one SQL statement; empty otherwise.
	SQL string
	// ReadsMLMD is set when Run walks Store.MLMD.
	ReadsMLMD bool
	// Run computes the members.
	Run func(ctx context.Context, s Store) (Members, error)
}

// ErrNoMLMD means an alternative needs the MLMD store and the Store names none.
var ErrNoMLMD = errors.New("no MLMD store to walk")

// edgeCTEs are the two edge sets every alternative walks: upstream edges never leave a
// Trainer's output (another Trainer's model is a boundary), downstream edges never enter
// another Trainer nor follow a model used as a base or a baseline.
const edgeCTEs = `up_edges AS (
    SELECT l.producer_id, l.consumer_id FROM lineage_edges l
    ANTI JOIN trainers t ON t.graphlet_id = l.producer_id
),
down_edges AS (
    SELECT l.producer_id, l.consumer_id FROM lineage_edges l
    ANTI JOIN trainers t ON t.graphlet_id = l.consumer_id
    WHERE l.role IS NULL OR l.role NOT IN ('base_model', 'baseline_model')
)`

// usingKeySQL recurses with USING KEY, keeping one row per (graphlet, execution) with its
// hop count, and an anti-join on the recurring table so that known pairs are not revisited.
const usingKeySQL = `WITH RECURSIVE ` + edgeCTEs + `,
up(graphlet_id, execution_id, hops) USING KEY (graphlet_id, execution_id) AS (
    SELECT graphlet_id, graphlet_id, 0 FROM trainers
    UNION
    SELECT u.graphlet_id, e.producer_id, u.hops + 1
    FROM up u JOIN up_edges e ON e.consumer_id = u.execution_id
    WHERE NOT EXISTS (SELECT 1 FROM recurring.up r WHERE r.graphlet_id = u.graphlet_id AND r.execution_id = e.producer_id)
),
down(graphlet_id, execution_id, hops) USING KEY (graphlet_id, execution_id) AS (
    SELECT graphlet_id, graphlet_id, 0 FROM trainers
    UNION
    SELECT d.graphlet_id, e.consumer_id, d.hops + 1
    FROM down d JOIN down_edges e ON e.producer_id = d.execution_id
    WHERE NOT EXISTS (SELECT 1 FROM recurring.down r WHERE r.graphlet_id = d.graphlet_id AND r.execution_id = e.consumer_id)
)
SELECT graphlet_id, execution_id FROM up
UNION ALL
SELECT graphlet_id, execution_id FROM down WHERE execution_id <> graphlet_id`

// fixedDepthSQL unrolls both walks into depth joins, each level one join with DISTINCT; it
// agrees with the recursion only when no path is longer than depth.
func fixedDepthSQL(depth int) string {
	var b strings.Builder
	b.WriteString("WITH " + edgeCTEs + ",\nu0 AS (SELECT graphlet_id, graphlet_id AS execution_id FROM trainers),\nd0 AS (SELECT graphlet_id, graphlet_id AS execution_id FROM trainers)")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, ",\nu%d AS (SELECT DISTINCT u.graphlet_id, e.producer_id AS execution_id FROM u%d u JOIN up_edges e ON e.consumer_id = u.execution_id)", i, i-1)
		fmt.Fprintf(&b, ",\nd%d AS (SELECT DISTINCT d.graphlet_id, e.consumer_id AS execution_id FROM d%d d JOIN down_edges e ON e.producer_id = d.execution_id)", i, i-1)
	}
	b.WriteString("\nSELECT graphlet_id, execution_id FROM (")
	for i := 0; i <= depth; i++ {
		if i > 0 {
			b.WriteString(" UNION ")
		}
		fmt.Fprintf(&b, "SELECT * FROM u%d", i)
	}
	b.WriteString(")\nUNION ALL\nSELECT graphlet_id, execution_id FROM (")
	for i := 1; i <= depth; i++ {
		if i > 1 {
			b.WriteString(" UNION ")
		}
		fmt.Fprintf(&b, "SELECT * FROM d%d", i)
	}
	b.WriteString(") WHERE execution_id <> graphlet_id")
	return b.String()
}

// FixedDepth is how many levels the unrolled alternative joins.
const FixedDepth = 12

// Alternatives lists the ways compared, the default (what mlprov materializes) first.
func Alternatives() []Alternative {
	var def string
	for _, v := range engine.Views() {
		if v.Name == "graphlet_executions" {
			def = v.SQL
		}
	}
	sqlAlt := func(name, desc, q string) Alternative {
		return Alternative{Name: name, Description: desc, SQL: q, Run: func(ctx context.Context, s Store) (Members, error) {
			return SummariseSQL(ctx, s.DB, q)
		}}
	}
	return []Alternative{
		sqlAlt("union", "recursive CTE with UNION over (graphlet, execution) pairs (mlprov's graphlet_executions)", def),
		sqlAlt("using_key", "recursive CTE with USING KEY and an anti-join on the recurring table", usingKeySQL),
		sqlAlt("fixed_depth", fmt.Sprintf("%d levels of joins, unrolled", FixedDepth), fixedDepthSQL(FixedDepth)),
		{Name: "go_bfs", Description: "breadth-first walks in Go over adjacency arrays read from the store", Run: goTraversal},
		{Name: "mlmd_walk", ReadsMLMD: true, Description: "per-model breadth-first walks through MLMD's API calls, one round of point queries per hop, on the MLMD SQLite store",
			Run: func(ctx context.Context, s Store) (Members, error) {
				if s.MLMD == "" {
					return Members{}, ErrNoMLMD
				}
				return MLMDWalk(ctx, s.MLMD, s.MLMDOffset)
			}},
	}
}

// SummariseSQL runs a query of (graphlet_id, execution_id) pairs and summarises its result.
func SummariseSQL(ctx context.Context, db *sql.DB, pairs string) (Members, error) {
	var m Members
	err := db.QueryRowContext(ctx, summarise(pairs)).Scan(&m.Pairs, &m.Graphlets, &m.Checksum)
	return m, err
}

// goTraversal reads both edge sets into compressed adjacency arrays and walks each graphlet
// breadth-first, marking visited executions with the graphlet's number.
func goTraversal(ctx context.Context, s Store) (Members, error) {
	db := s.DB
	var m Members
	ids := map[int64]int32{}
	var names []int64
	index := func(id int64) int32 {
		i, ok := ids[id]
		if !ok {
			i = int32(len(names))
			ids[id] = i
			names = append(names, id)
		}
		return i
	}
	readEdges := func(name string, reverse bool) (from, to []int32, err error) {
		q := "WITH " + edgeCTEs + " SELECT producer_id, consumer_id FROM " + name
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var p, c int64
			if err := rows.Scan(&p, &c); err != nil {
				return nil, nil, err
			}
			if reverse {
				p, c = c, p
			}
			from = append(from, index(p))
			to = append(to, index(c))
		}
		return from, to, rows.Err()
	}
	upFrom, upTo, err := readEdges("up_edges", true) // walk consumer -> producer
	if err != nil {
		return m, err
	}
	downFrom, downTo, err := readEdges("down_edges", false)
	if err != nil {
		return m, err
	}
	var trainers []int64
	rows, err := db.QueryContext(ctx, `SELECT graphlet_id FROM trainers`)
	if err != nil {
		return m, err
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return m, err
		}
		trainers = append(trainers, t)
		index(t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return m, err
	}
	n := len(names)
	up, down := csr(n, upFrom, upTo), csr(n, downFrom, downTo)
	seen := make([]int32, n)
	queue := make([]int32, 0, 64)
	stamp := int32(0)
	walk := func(start int32, adj adjacency, g int64, skipStart bool) {
		stamp++
		queue = append(queue[:0], start)
		seen[start] = stamp
		for k := 0; k < len(queue); k++ {
			x := queue[k]
			if !(skipStart && x == start) {
				m.Pairs++
				m.Checksum = (m.Checksum + pairTerm(g, names[x])) % checksumMod
			}
			for _, y := range adj.next[adj.start[x]:adj.start[x+1]] {
				if seen[y] != stamp {
					seen[y] = stamp
					queue = append(queue, y)
				}
			}
		}
	}
	for _, t := range trainers {
		i := ids[t]
		walk(i, up, t, false)
		walk(i, down, t, true)
		m.Graphlets++
	}
	return m, nil
}

type adjacency struct{ start, next []int32 }

func csr(n int, from, to []int32) adjacency {
	a := adjacency{start: make([]int32, n+1), next: make([]int32, len(from))}
	for _, f := range from {
		a.start[f+1]++
	}
	for i := 0; i < n; i++ {
		a.start[i+1] += a.start[i]
	}
	fill := append([]int32(nil), a.start[:n]...)
	for i, f := range from {
		a.next[fill[f]] = to[i]
		fill[f]++
	}
	return a
}
