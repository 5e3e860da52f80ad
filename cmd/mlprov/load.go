package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"mlprov/engine"
	"mlprov/loaders"
)

type loadOptions struct {
	common
	deployRule string
	replace    bool
}

// loadCmd is `mlprov load`: each PATH is one source, loaded in its own transaction.
type loadCmd command[loadOptions]

func (c *loadCmd) Run(ctx context.Context, args []string) (err error) {
	fs, err := c.parse(args, "load", "mlprov load [--db FILE] [--format FORMAT] [--deploy-rule REGEXP] [--replace] [--json] [-q] PATH...\n\n"+
		"Each PATH is a file or folder, taken literally: *, ? and [ in it are plain characters,\n"+
		"never patterns (let the shell expand a pattern into PATHs). A pipe or /dev/stdin is\n"+
		"refused: save the input to a file first.\n\n"+
		"A PATH may also be an MLMD database on a server. On MySQL or MariaDB (Kubeflow's metadb):\n"+
		"mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?tls=true], the password best given in\n"+
		"MLPROV_MYSQL_PASSWORD. On PostgreSQL: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require],\n"+
		"the password in PGPASSWORD or ~/.pgpass. Either is read in one read-only snapshot, and\n"+
		"needs only SELECT.\n\n"+
		"Loading a source that is in the store already syncs it: an MLMD store or a native\n"+
		"folder is the same source at the same path, and every OpenLineage file feeds the\n"+
		"store's one OpenLineage source, whose runs merge by runId. New rows are added,\n"+
		"changed ones updated, rows the input no longer holds removed; an input with nothing\n"+
		"new is up to date and changes nothing. Only the derived rows the change can touch\n"+
		"are derived again.",
		c.dbFlag(&c.opts.db),
		formatFlag(&c.opts.format, "auto", "input format: auto, "+strings.Join(loaders.Formats(), ", ")),
		own(func(fs *pflag.FlagSet) {
			fs.StringVar(&c.opts.deployRule, "deploy-rule", "", "regexp of the nodes that deploy a model, matched against node_id, op_type\nand PIPELINE.NODE (an OpenLineage job's full name); their complete runs count as pushes")
			fs.BoolVar(&c.opts.replace, "replace", false, "rebuild a source that is in the store from scratch instead of syncing it")
		}),
		jsonFlag(&c.opts.json, "print what each load did as JSON lines"),
		quietFlag(&c.opts.quiet, "print only errors"))
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("load", "load needs at least one PATH")
	}
	var rule *regexp.Regexp
	if c.opts.deployRule != "" {
		re, err := regexp.Compile(c.opts.deployRule)
		if err != nil {
			return usagef("load", "--deploy-rule: %v", err)
		}
		rule = re
	}
	var ls []engine.Loader
	paths := fs.Args()
	for i, p := range paths {
		l, path, err := loaders.Lookup(c.opts.format, p)
		if errors.Is(err, loaders.ErrNotRecognised) {
			return &hintError{err, fmt.Sprintf("mlprov load --format FORMAT %s, with FORMAT one of %s", p, strings.Join(loaders.Formats(), ", "))}
		}
		if err != nil {
			return err
		}
		ls, paths[i] = append(ls, l), path
	}
	_, statErr := os.Stat(c.opts.db)
	fresh := errors.Is(statErr, os.ErrNotExist)
	e, err := engine.Open(ctx, c.opts.db, engine.Options{})
	if err != nil {
		return err
	}
	loaded := 0
	defer func() {
		e.Close()
		if err != nil && fresh && loaded == 0 {
			// A load that fails leaves the store as it was: here, not there at all.
			removeStore(c.opts.db)
		}
	}()
	for i, p := range paths {
		lo := engine.LoadOptions{Replace: c.opts.replace, DeployRule: rule}
		shown := p // what the output calls the input: a server's address without its password
		if r, ok := ls[i].(engine.Remote); ok {
			shown = r.Redact(p)
		}
		var bar *progress
		if !c.opts.quiet {
			bar = newProgress(c.stderr, "load", "records")
			lo.Progress, lo.Records = bar.step, bar.count
		}
		res, err := e.Load(ctx, ls[i], p, lo)
		bar.done()
		if err != nil {
			return err
		}
		loaded++
		switch {
		case c.opts.json:
			if err := json.NewEncoder(c.stdout).Encode(loadReport(shown, res)); err != nil {
				return err
			}
		case !c.opts.quiet:
			fmt.Fprintln(c.stdout, loadSummary(shown, res))
		}
		if !c.opts.quiet && res.New {
			ops, err := e.SourceOpTypes(ctx, res.SourceID)
			if err != nil {
				return err
			}
			if len(ops) > 0 && !slices.ContainsFunc(ops, func(o engine.OpTypeCount) bool { return o.Category == engine.CategoryTrain }) {
				fmt.Fprint(c.stderr, noTrainingHint(c.opts.db, shown, ops))
			}
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(c.stderr, "warning: %s: %s\n", shown, w)
		}
	}
	return e.Close()
}

// loadSummary says in one line what a load did.
func loadSummary(path string, r engine.LoadResult) string {
	switch {
	case r.UpToDate:
		return fmt.Sprintf("%s: up to date (source %d, %s)", path, r.SourceID, r.Format)
	case r.New || r.Replaced:
		verb := "loaded"
		if r.Replaced {
			verb = "replaced"
		}
		return fmt.Sprintf("%s %s as source %d (%s): %d pipelines, %d executions, %d artifacts, %d events",
			verb, path, r.SourceID, r.Format, r.Pipelines, r.Executions, r.Artifacts, r.Events)
	}
	return fmt.Sprintf("synced %s into source %d (%s): +%d executions, %d updated, %d removed; +%d artifacts, +%d events; %s",
		path, r.SourceID, r.Format, r.Executions, r.Updated.Executions, r.Removed.Executions,
		r.Artifacts, r.Events, derivedAgain(r.Refreshed))
}

// loadJSON is what load --json prints for each PATH.
type loadJSON struct {
	Path     string           `json:"path"`
	SourceID int64            `json:"source_id"`
	Format   string           `json:"format"`
	Status   string           `json:"status"` // loaded, synced, replaced or up to date
	Added    engine.Counts    `json:"added"`
	Updated  engine.Counts    `json:"updated"`
	Removed  engine.Counts    `json:"removed"`
	Refresh  engine.Refreshed `json:"refresh"`
	Warnings []string         `json:"warnings"`
}

func loadReport(path string, r engine.LoadResult) loadJSON {
	out := loadJSON{Path: path, SourceID: r.SourceID, Format: r.Format, Status: "synced",
		Added: r.Counts, Updated: r.Updated, Removed: r.Removed, Refresh: r.Refreshed, Warnings: r.Warnings}
	switch {
	case r.UpToDate:
		out.Status = "up to date"
	case r.Replaced:
		out.Status = "replaced"
	case r.New:
		out.Status = "loaded"
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out
}

// removeStore deletes a store file that a failed command created, with its write-ahead log.
func removeStore(path string) {
	if path == ":memory:" {
		return
	}
	os.Remove(path)
	os.Remove(path + ".wal")
}

// likelyTraining matches operator names that read as training, to pick the example.
var likelyTraining = regexp.MustCompile(`(?i)train|fit|learn|tun`)

// noTrainingHint tells how to map a load's operators when none is a training: Kubeflow and
// custom pipelines have no TFX Trainer, and without one there are no models to follow.
func noTrainingHint(db, path string, ops []engine.OpTypeCount) string {
	var names []string
	example := ""
	for _, o := range ops {
		if o.Category == engine.CategoryDeploy {
			continue
		}
		if len(names) < 6 {
			names = append(names, fmt.Sprintf("%s (%s, %d)", o.OpType, o.Category, o.Executions))
		}
		if example == "" && likelyTraining.MatchString(o.OpType) {
			example = o.OpType
		}
	}
	if example == "" && len(ops) > 0 {
		example = ops[0].OpType
	}
	var b strings.Builder
	fmt.Fprintf(&b, "warning: no training runs in %s: no execution has category train, so there are no models to follow.\n", path)
	fmt.Fprintf(&b, "  operator types loaded (category, executions): %s\n", strings.Join(names, ", "))
	fmt.Fprintf(&b, "  map your training components to category 'train' in op_categories, then load again:\n")
	fmt.Fprintf(&b, "    mlprov query --db %s \"INSERT OR REPLACE INTO op_categories VALUES ('%s', 'train')\"\n", db, strings.ReplaceAll(example, "'", "''"))
	fmt.Fprintf(&b, "    mlprov load --db %s --deploy-rule REGEXP %s\n", db, path)
	fmt.Fprintf(&b, "  where --deploy-rule REGEXP matches the nodes or jobs that deploy a model (their complete runs count as pushes)\n")
	return b.String()
}
