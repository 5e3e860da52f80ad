package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"mlprov/loaders/mlmd"
)

// MLMDWalk finds every graphlet's executions the way a program on MLMD's own API does: it
// lists the Trainer executions, then walks each one's lineage breadth-first, one round of
// point queries per hop, in the calls MLMD's API offers: get_events_by_execution_ids, then
// get_events_by_artifact_ids, then get_executions_by_id. Each call runs the SQL MLMD runs for
// it against the store's tables, read-only: the rows asked for by id, then their event paths
// or properties, since MLMD returns whole Event and Execution protos.
//
// The boundary rules are graphlet_executions': upstream stops at a Model made by another
// Trainer, and never takes a cache hit or a Resolver for an artifact's producer (they re-link
// artifacts made earlier); downstream never enters another Trainer nor follows an input read
// as base_model or baseline_model. A Trainer is an execution whose type is a Trainer, or a
// custom type derived from mlmd.Train that is not a Tuner, as loaders/mlmd categorises them.
//
// The Members it returns count in store ids: each MLMD id plus offset, the shift loaders/mlmd
// applies when it loads the file (the store's largest id before the load: 0 for a fresh
// store). So they equal graphlet_executions' in the store the file loads into. A corpus that
// `mlprov gen --format mlmd` wrote keeps its native ids, so with offset 0 they also equal the
// native layout's store (the load benchmark checks that both loads agree).
func MLMDWalk(ctx context.Context, path string, offset int64) (Members, error) {
	var m Members
	abs, err := filepath.Abs(path)
	if err != nil {
		return m, err
	}
	db, err := sql.Open("sqlite3", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(abs)+"?mode=ro&immutable=1")
	if err != nil {
		return m, fmt.Errorf("mlmd walk: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return m, fmt.Errorf("mlmd walk: %s: %w", path, err)
	}
	defer conn.Close()
	w := &walker{conn: conn}
	if err := w.readTypes(ctx); err != nil {
		return m, fmt.Errorf("mlmd walk: %s: %w", path, err)
	}
	trainers, err := w.trainers(ctx)
	if err != nil {
		return m, fmt.Errorf("mlmd walk: %s: %w", path, err)
	}
	for _, t := range trainers {
		if !t.producer {
			continue // a cache hit trained nothing and roots no graphlet, as in the trainers view
		}
		up, err := w.upstream(ctx, t)
		if err != nil {
			return m, fmt.Errorf("mlmd walk: %s: trainer %d: %w", path, t.id, err)
		}
		down, err := w.downstream(ctx, t)
		if err != nil {
			return m, fmt.Errorf("mlmd walk: %s: trainer %d: %w", path, t.id, err)
		}
		g := t.id + offset
		m.Graphlets++
		for _, x := range append(append(up, t.id), down...) {
			m.Pairs++
			m.Checksum = (m.Checksum + pairTerm(g, x+offset)) % checksumMod
		}
	}
	return m, nil
}

// walker holds the connection and what the walk learnt once, up front: the execution types.
type walker struct {
	conn     *sql.Conn
	trainer  map[int64]bool // execution type ids that are Trainers
	resolver map[int64]bool // execution type ids of Resolvers
}

// mexec is what the walk needs of an execution: whether it counts as an artifact's
// producer, and whether it is a Trainer.
type mexec struct {
	id       int64
	trainer  bool
	producer bool // neither a cache hit nor a Resolver
}

type mevent struct {
	id, artifact, execution, typ int64
	role                         string
}

// readTypes is get_execution_types: the type names and the base types they derive from.
func (w *walker) readTypes(ctx context.Context) error {
	names := map[int64]string{}
	rows, err := w.conn.QueryContext(ctx, "SELECT id, name FROM `Type` WHERE type_kind = ?", mlmd.KindExecution)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	bases := map[int64][]int64{}
	rows, err = w.conn.QueryContext(ctx, "SELECT type_id, parent_type_id FROM `ParentType`")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t, p int64
		if err := rows.Scan(&t, &p); err != nil {
			return err
		}
		bases[t] = append(bases[t], p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	w.trainer, w.resolver = map[int64]bool{}, map[int64]bool{}
	for id, name := range names {
		op := name[strings.LastIndexByte(name, '.')+1:]
		train := op == "Trainer"
		for _, b := range bases[id] {
			train = train || (names[b] == "mlmd.Train" && op != "Tuner")
		}
		w.trainer[id] = train
		w.resolver[id] = op == "Resolver"
	}
	return rows.Err()
}

// trainers is get_executions_by_type for each Trainer type.
func (w *walker) trainers(ctx context.Context) ([]mexec, error) {
	var types []int64
	for id, ok := range w.trainer {
		if ok {
			types = append(types, id)
		}
	}
	if len(types) == 0 {
		return nil, nil
	}
	return w.executionsQuery(ctx, "type_id", types, " ORDER BY id")
}

// executionsByID is get_executions_by_id.
func (w *walker) executionsByID(ctx context.Context, ids []int64) ([]mexec, error) {
	return w.executionsQuery(ctx, "id", ids, "")
}

func (w *walker) executionsQuery(ctx context.Context, col string, ids []int64, order string) ([]mexec, error) {
	rows, err := w.conn.QueryContext(ctx, "SELECT id, type_id, last_known_state, name, create_time_since_epoch, last_update_time_since_epoch FROM `Execution` WHERE "+col+" IN ("+idList(ids)+")"+order)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var xs []mexec
	for rows.Next() {
		var id, typ int64
		var state sql.NullInt64
		var name sql.NullString
		var created, updated sql.NullInt64
		if err := rows.Scan(&id, &typ, &state, &name, &created, &updated); err != nil {
			return nil, err
		}
		xs = append(xs, mexec{id: id, trainer: w.trainer[typ], producer: state.Int64 != mlmd.ExecCached && !w.resolver[typ]})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(xs) == 0 {
		return xs, err
	}
	// The properties that make up the rest of each Execution the API returns.
	got := make([]int64, len(xs))
	for i, x := range xs {
		got[i] = x.id
	}
	rows, err = w.conn.QueryContext(ctx, "SELECT execution_id, name, is_custom_property, int_value, double_value, string_value FROM `ExecutionProperty` WHERE execution_id IN ("+idList(got)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		var custom bool
		var iv, dv, sv any
		if err := rows.Scan(&id, &name, &custom, &iv, &dv, &sv); err != nil {
			return nil, err
		}
	}
	return xs, rows.Err()
}

// eventsBy is get_events_by_execution_ids (col execution_id) or get_events_by_artifact_ids
// (col artifact_id): the events, then their paths, of which the first key step is the role.
func (w *walker) eventsBy(ctx context.Context, col string, ids []int64) ([]mevent, error) {
	rows, err := w.conn.QueryContext(ctx, "SELECT id, artifact_id, execution_id, type, milliseconds_since_epoch FROM `Event` WHERE "+col+" IN ("+idList(ids)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []mevent
	for rows.Next() {
		var e mevent
		var ms sql.NullInt64
		if err := rows.Scan(&e.id, &e.artifact, &e.execution, &e.typ, &ms); err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(evs) == 0 {
		return evs, err
	}
	pos := make(map[int64]int, len(evs))
	ids = ids[:0:0]
	for i, e := range evs {
		pos[e.id] = i
		ids = append(ids, e.id)
	}
	rows, err = w.conn.QueryContext(ctx, "SELECT event_id, is_index_step, step_index, step_key FROM `EventPath` WHERE event_id IN ("+idList(ids)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var isIndex bool
		var index sql.NullInt64
		var key sql.NullString
		if err := rows.Scan(&id, &isIndex, &index, &key); err != nil {
			return nil, err
		}
		if e := &evs[pos[id]]; !isIndex && key.Valid && e.role == "" {
			e.role = key.String
		}
	}
	return evs, rows.Err()
}

// newArtifacts returns the artifacts that evs link in direction dir ("in" or "out") and seen
// does not hold yet, and adds them to seen.
func newArtifacts(evs []mevent, dir string, seen map[int64]bool) []int64 {
	var arts []int64
	for _, e := range evs {
		if d, _, _ := mlmd.EventDirection(e.typ); d == dir && !seen[e.artifact] {
			seen[e.artifact] = true
			arts = append(arts, e.artifact)
		}
	}
	return arts
}

// upstream walks from the Trainer t back through its inputs to their producers, hop by hop,
// and returns the executions it reached.
func (w *walker) upstream(ctx context.Context, t mexec) ([]int64, error) {
	seenX := map[int64]bool{t.id: true}
	seenA := map[int64]bool{}
	var found []int64
	for frontier := []int64{t.id}; len(frontier) > 0; {
		evs, err := w.eventsBy(ctx, "execution_id", frontier)
		if err != nil {
			return nil, err
		}
		arts := newArtifacts(evs, "in", seenA)
		if len(arts) == 0 {
			break
		}
		if evs, err = w.eventsBy(ctx, "artifact_id", arts); err != nil {
			return nil, err
		}
		var cands []int64
		for _, e := range evs {
			if dir, _, _ := mlmd.EventDirection(e.typ); dir == "out" && !seenX[e.execution] {
				seenX[e.execution] = true
				cands = append(cands, e.execution)
			}
		}
		if len(cands) == 0 {
			break
		}
		xs, err := w.executionsByID(ctx, cands)
		if err != nil {
			return nil, err
		}
		frontier = frontier[:0:0]
		for _, x := range xs {
			// A cache hit or a Resolver only re-linked the artifact; another Trainer's
			// model is a boundary.
			if x.producer && !x.trainer {
				found = append(found, x.id)
				frontier = append(frontier, x.id)
			}
		}
	}
	return found, nil
}

// downstream walks from the Trainer t forward to the executions that consume what it made,
// and theirs, hop by hop, and returns the executions it reached.
func (w *walker) downstream(ctx context.Context, t mexec) ([]int64, error) {
	if !t.producer {
		return nil, nil // a cache hit made nothing of its own
	}
	seenX := map[int64]bool{t.id: true}
	seenA := map[int64]bool{}
	var found []int64
	type read struct {
		rank int
		id   int64
		role string
	}
	for frontier := []int64{t.id}; len(frontier) > 0; {
		evs, err := w.eventsBy(ctx, "execution_id", frontier)
		if err != nil {
			return nil, err
		}
		arts := newArtifacts(evs, "out", seenA)
		if len(arts) == 0 {
			break
		}
		if evs, err = w.eventsBy(ctx, "artifact_id", arts); err != nil {
			return nil, err
		}
		// Each consumer's read of each artifact, by its preferred event.
		reads := map[[2]int64]read{}
		for _, e := range evs {
			dir, rank, _ := mlmd.EventDirection(e.typ)
			if dir != "in" || seenX[e.execution] {
				continue
			}
			k := [2]int64{e.execution, e.artifact}
			if r, ok := reads[k]; !ok || rank < r.rank || (rank == r.rank && e.id < r.id) {
				reads[k] = read{rank, e.id, e.role}
			}
		}
		var cands []int64
		for k, r := range reads {
			if r.role != "base_model" && r.role != "baseline_model" && !seenX[k[0]] {
				seenX[k[0]] = true
				cands = append(cands, k[0])
			}
		}
		if len(cands) == 0 {
			break
		}
		xs, err := w.executionsByID(ctx, cands)
		if err != nil {
			return nil, err
		}
		frontier = frontier[:0:0]
		for _, x := range xs {
			if x.trainer {
				continue
			}
			found = append(found, x.id)
			if x.producer {
				frontier = append(frontier, x.id)
			}
		}
	}
	return found, nil
}

func idList(ids []int64) string {
	b := make([]byte, 0, 8*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}
