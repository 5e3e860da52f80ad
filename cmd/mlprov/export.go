package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"mlprov/engine"
	"mlprov/loaders/mlmd"
)

type exportOptions struct {
	common
	partition bool
}

// exportCmd is `mlprov export`: the store's tables in the native layout, or as an MLMD
// store (schema 10, TFX IR dialect); load reads either back.
type exportCmd command[exportOptions]

func (c *exportCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "export", "mlprov export [--db FILE] [--format parquet|csv|jsonl|mlmd] --out DIR|FILE [--partition]",
		c.dbFlag(&c.opts.db),
		formatFlag(&c.opts.format, "parquet", "file format: parquet, csv or jsonl (a folder), or mlmd (one new SQLite file)"),
		outFlag(&c.opts.out, "", "the folder to write (new or empty), or the file for mlmd"),
		own(func(fs *pflag.FlagSet) {
			fs.BoolVar(&c.opts.partition, "partition", false, "write one Hive-partitioned folder per table, by pipeline_id")
		}))
	if err != nil {
		return err
	}
	if c.opts.out == "" {
		return usagef("export", "export needs --out DIR")
	}
	if err := checkFileFormat("export", c.opts.format); err != nil {
		return err
	}
	if c.opts.format == engine.FormatMLMD && c.opts.partition {
		return usagef("export", "--partition does not apply to --format mlmd")
	}
	if fs.NArg() > 0 {
		return usagef("export", "unexpected argument %q", fs.Arg(0))
	}
	e, err := c.openExisting(ctx, c.opts.db, true)
	if err != nil {
		return err
	}
	defer e.Close()
	if c.opts.format == engine.FormatMLMD {
		corpus, err := mlmd.ReadCorpus(ctx, e.DB())
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := mlmd.WriteCorpus(ctx, c.opts.out, corpus); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	} else if err := e.Export(ctx, c.opts.out, c.opts.format, c.opts.partition); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "exported %s to %s (%s)\n", c.opts.db, c.opts.out, c.opts.format)
	return nil
}
