package main

import (
	"context"
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
	fs, err := c.parse(args, "load", "mlprov load [--db FILE] [--format FORMAT] [--deploy-rule REGEXP] [--replace] [-q] PATH...\n\n"+
		"Each PATH is a file or folder, taken literally: *, ? and [ in it are plain characters,\n"+
		"never patterns (let the shell expand a pattern into PATHs). A pipe or /dev/stdin is\n"+
		"refused: save the input to a file first. A source must hold every row it references\n"+
		"(no event may name an execution or artifact of another source), so --replace removes\n"+
		"exactly the rows of the source it reloads.",
		c.dbFlag(&c.opts.db),
		formatFlag(&c.opts.format, "auto", "input format: auto, "+strings.Join(loaders.Formats(), ", ")),
		own(func(fs *pflag.FlagSet) {
			fs.StringVar(&c.opts.deployRule, "deploy-rule", "", "regexp of the nodes that deploy a model, matched against node_id, op_type\nand PIPELINE.NODE (an OpenLineage job's full name); their complete runs count as pushes")
			fs.BoolVar(&c.opts.replace, "replace", false, "reload a source that is already in the store (same content, or the same path since grown)")
		}),
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
	for _, p := range fs.Args() {
		if _, err := os.Stat(p); err != nil {
			return err
		}
		l, err := loaders.Lookup(c.opts.format, p)
		if errors.Is(err, loaders.ErrNotRecognised) {
			return &hintError{err, fmt.Sprintf("mlprov load --format FORMAT %s, with FORMAT one of %s", p, strings.Join(loaders.Formats(), ", "))}
		}
		if err != nil {
			return err
		}
		ls = append(ls, l)
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
	for i, p := range fs.Args() {
		lo := engine.LoadOptions{Replace: c.opts.replace, DeployRule: rule}
		var bar *progress
		if !c.opts.quiet {
			bar = newProgress(c.stderr, "load", "records")
			lo.Progress, lo.Records = bar.step, bar.count
		}
		res, err := e.Load(ctx, ls[i], p, lo)
		bar.done()
		if already := new(engine.AlreadyLoadedError); errors.As(err, &already) {
			return &hintError{err, fmt.Sprintf("mlprov load --db %s --replace %s, to load it again in place of source %d", c.opts.db, p, already.SourceID)}
		}
		if err != nil {
			return err
		}
		loaded++
		if !c.opts.quiet {
			verb := "loaded"
			if res.Replaced {
				verb = "replaced"
			}
			fmt.Fprintf(c.stdout, "%s %s as source %d (%s): %d pipelines, %d executions, %d artifacts, %d events\n",
				verb, p, res.SourceID, res.Format, res.Pipelines, res.Executions, res.Artifacts, res.Events)
			ops, err := e.SourceOpTypes(ctx, res.SourceID)
			if err != nil {
				return err
			}
			if len(ops) > 0 && !slices.ContainsFunc(ops, func(o engine.OpTypeCount) bool { return o.Category == engine.CategoryTrain }) {
				fmt.Fprint(c.stderr, noTrainingHint(c.opts.db, p, ops))
			}
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(c.stderr, "warning: %s: %s\n", p, w)
		}
	}
	return e.Close()
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
	fmt.Fprintf(&b, "    mlprov load --db %s --replace --deploy-rule REGEXP %s\n", db, path)
	fmt.Fprintf(&b, "  where --deploy-rule REGEXP matches the nodes or jobs that deploy a model (their complete runs count as pushes)\n")
	return b.String()
}
