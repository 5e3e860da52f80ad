package main

import (
	"context"
	"fmt"

	"mlprov/engine"
)

type exportOptions struct {
	db        string
	format    string
	out       string
	partition bool
}

// exportCmd is `mlprov export`: the store's tables in the native layout, which load reads back.
type exportCmd struct {
	*cli
	opts exportOptions
}

func (c *exportCmd) Run(ctx context.Context, args []string) error {
	fs := c.flags("export", "mlprov export [--db FILE] [--format parquet|csv|jsonl] --out DIR [--partition]")
	c.dbFlag(fs, &c.opts.db)
	fs.StringVar(&c.opts.format, "format", "parquet", "file format: parquet, csv or jsonl")
	fs.StringVar(&c.opts.out, "out", "", "the folder to write (new or empty)")
	fs.BoolVar(&c.opts.partition, "partition", false, "write one Hive-partitioned folder per table, by pipeline_id")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if c.opts.out == "" {
		return usagef("export", "export needs --out DIR")
	}
	if _, ok := engine.ExportFormats[c.opts.format]; !ok {
		return usagef("export", "unknown --format %q (want parquet, csv or jsonl)", c.opts.format)
	}
	if fs.NArg() > 0 {
		return usagef("export", "unexpected argument %q", fs.Arg(0))
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Export(ctx, c.opts.out, c.opts.format, c.opts.partition); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "exported %s to %s (%s)\n", c.opts.db, c.opts.out, c.opts.format)
	return nil
}
