package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"mlprov/engine"
)

// version is stamped at link time (-ldflags "-X main.version=..."); builds without it fall
// back to the module's build information.
var version = ""

func mlprovVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

type versionCmd struct{ *cli }

func (c *versionCmd) Run(ctx context.Context, args []string) error {
	if _, err := c.parse(args, "version", "mlprov version"); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "mlprov %s (store schema %d)\n", mlprovVersion(), engine.LatestSchemaVersion())
	return nil
}

type helpCmd struct{ *cli }

func (c *helpCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(args, "help", "mlprov help [COMMAND]")
	if err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		c.usage(c.stdout)
		return nil
	case 1:
	default:
		return usagef("help", "help takes one COMMAND, not %d", fs.NArg())
	}
	if fs.Arg(0) == "help" {
		fs.Usage()
		return nil
	}
	for _, cmd := range commands {
		if cmd.name == fs.Arg(0) {
			return cmd.make(c.cli).Run(ctx, []string{"--help"})
		}
	}
	return usagef("help", "unknown command %q", fs.Arg(0))
}
