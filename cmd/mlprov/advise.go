package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"mlprov/prune"
)

type adviseOptions struct {
	common
	pipeline string
	at       string
	exitCode bool
}

// adviseCmd is `mlprov advise`: whether a pipeline's next Trainer run should train, by the
// pruning model that `mlprov prune` kept in the store.
type adviseCmd command[adviseOptions]

// skipStatus is the exit status of advise --exit-code when the answer is skip.
const skipStatus = 10

func (c *adviseCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "advise", "mlprov advise --pipeline ID|NAME [--at TIME] [--db FILE] [--json] [--exit-code]",
		c.dbFlag(&c.opts.db),
		own(func(fs *pflag.FlagSet) {
			fs.StringVar(&c.opts.pipeline, "pipeline", "", "the pipeline asking, by id or name")
			fs.StringVar(&c.opts.at, "at", "", "when its Trainer starts, RFC 3339 or 2006-01-02 15:04:05 in UTC (default now): the store is read as it was then")
			fs.BoolVar(&c.opts.exitCode, "exit-code", false, fmt.Sprintf("exit 0 to train, %d to skip, for a pipeline's shell step", skipStatus))
		}),
		jsonFlag(&c.opts.json, "print the advice as one JSON object"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("advise", "unexpected argument %q", fs.Arg(0))
	}
	if c.opts.pipeline == "" {
		return usagef("advise", "--pipeline is required")
	}
	at := time.Now().UTC()
	if c.opts.at != "" {
		if at, err = prune.ParseTime(c.opts.at); err != nil {
			return usagef("advise", "--at %q: %v", c.opts.at, err)
		}
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	id, err := pipelineID(ctx, e.DB(), c.opts.pipeline)
	if err != nil {
		return err
	}
	m, err := prune.Latest(ctx, e.DB())
	if errors.Is(err, prune.ErrNoModel) {
		return &hintError{err: prune.NoModelError(ctx, e.DB()), hint: "mlprov prune --db " + c.opts.db}
	}
	if err != nil {
		return err
	}
	a, err := prune.Advise(ctx, e.DB(), m, id, at)
	if err != nil {
		return err
	}
	if c.opts.json {
		err = writeJSON(c.stdout, a)
	} else {
		err = printAdvice(c.stdout, a)
	}
	if err == nil && c.opts.exitCode && a.Decision == "skip" {
		return exitStatus(skipStatus)
	}
	return err
}

// pipelineID finds a pipeline by id or, failing that, by name.
func pipelineID(ctx context.Context, db *sql.DB, p string) (int64, error) {
	var id int64
	n, _ := strconv.ParseInt(p, 10, 64)
	err := db.QueryRowContext(ctx, `SELECT pipeline_id FROM pipelines WHERE pipeline_id = ? OR name = ? ORDER BY pipeline_id <> ? LIMIT 1`, n, p, n).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no pipeline %q in the store (neither an id nor a name)", p)
	}
	if err != nil {
		return 0, fmt.Errorf("find pipeline %q: %w", p, err)
	}
	return id, nil
}

func printAdvice(w io.Writer, a *prune.Advice) error {
	score := "no features to score"
	if a.PPush != nil {
		cmp := ">="
		if *a.PPush < a.Threshold {
			cmp = "<"
		}
		score = fmt.Sprintf("p_push %.3f %s threshold %.3f", *a.PPush, cmp, a.Threshold)
	}
	fmt.Fprintf(w, "pipeline %d at %s: %s (%s)\n", a.PipelineID, a.At.Format(time.RFC3339), a.Decision, score)
	fmt.Fprintf(w, "model %d: %s learned until %s, validation AUC %.3f\n", a.Model.ID, a.Model.Kind, a.Model.TrainedUntil.Format(time.RFC3339), a.Model.ValidationAUC)
	if a.PPush != nil {
		fmt.Fprintf(w, "features of %s\n", a.Basis)
	}
	for _, r := range a.Reasons {
		v := "unknown"
		if r.Value != nil {
			v = strconv.FormatFloat(*r.Value, 'g', 4, 64)
		}
		if r.Feature == "model_type" {
			v = "(its model type)"
		}
		fmt.Fprintf(w, "  %-28s %-16s %+.2f log-odds\n", r.Feature, v, r.Contribution)
	}
	for _, warn := range a.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}
