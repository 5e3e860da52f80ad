package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"mlprov/engine"
	"mlprov/synth"
)

// cacheVersion is part of every cached corpus's name: bump it when the generator changes what
// it writes without a change to synth.Config, so that stale corpora are not reused.
const cacheVersion = 2

// DefaultCacheDir is where corpora are kept between runs unless a Runner names another.
func DefaultCacheDir() string { return filepath.Join(os.TempDir(), "mlprov-bench") }

// Corpus is one generated corpus, in the layouts the benchmarks read.
type Corpus struct {
	Scale float64
	Seed  uint64
	// Config is what generated it.
	Config synth.Config
	// Native is the folder of the native layout (Parquet, and the ground truth).
	Native string
	// Stats are the generator's counts (Bytes for the Parquet layout).
	Stats synth.Stats

	dir string       // the corpus's folder in the cache
	log func(string) // hears what is generated
}

// MLMD returns the path of the MLMD store of the same corpus (gen --format mlmd), whose ids
// are Native's, generating it the first time a benchmark asks: at the paper's scale it takes
// longer to write than every benchmark that reads Parquet takes to run.
func (c *Corpus) MLMD(ctx context.Context) (string, error) {
	dir := filepath.Join(c.dir, "mlmd")
	path := filepath.Join(dir, synth.MLMDFile)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	err := build(dir, path, func(tmp string) error {
		start := time.Now()
		if _, err := synth.Generate(ctx, c.Config, tmp, synth.Options{Format: engine.FormatMLMD}); err != nil {
			return fmt.Errorf("corpus at scale %g: %w", c.Scale, err)
		}
		c.say("generated the corpus at scale %g as an MLMD store in %.1fs", c.Scale, time.Since(start).Seconds())
		return nil
	})
	if err != nil {
		return "", err
	}
	return path, nil
}

// say tells the corpus's log, when it has one.
func (c *Corpus) say(format string, args ...any) {
	if c.log != nil {
		c.log(fmt.Sprintf(format, args...))
	}
}

// build makes the folder final by writing it under a temporary name beside it (write gets
// that folder) and renaming it when write is done, so an interrupted run leaves nothing a
// later run would take for it. done is a file of final: where the rename fails because another
// run built final meanwhile, theirs is taken.
func build(final, done string, write func(tmp string) error) error {
	tmp, err := os.MkdirTemp(filepath.Dir(final), filepath.Base(final)+".part-")
	if err != nil {
		return fmt.Errorf("corpus cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := write(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(done); serr != nil {
			return fmt.Errorf("corpus cache: %w", errors.Join(err, serr))
		}
	}
	return nil
}

// GroundTruth is the generator's ground truth file.
func (c *Corpus) GroundTruth() string { return filepath.Join(c.Native, synth.GroundTruthFile) }

// ScaleConfig is the generator's configuration at scale (a fraction of the paper's corpus).
func ScaleConfig(scale float64, seed uint64) synth.Config {
	cfg := synth.DefaultConfig(max(1, synth.ScalePipelines(scale)))
	cfg.Seed = seed
	return cfg
}

// corpusKey names a corpus in the cache by what determines its bytes: the cache version, the
// scale and seed for people, and a digest of the whole configuration.
func corpusKey(scale float64, cfg synth.Config) (string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("corpus-v%d-scale%s-seed%d-%s", cacheVersion, strconv.FormatFloat(scale, 'g', -1, 64), cfg.Seed, hex.EncodeToString(sum[:6])), nil
}

// LoadCorpus returns the corpus at scale and seed from the cache folder, generating its native
// layout the first time (and its MLMD store when a benchmark asks, see Corpus.MLMD). A corpus
// is built under a temporary name and renamed when complete, so an interrupted run leaves
// nothing a later run would take for a corpus. log, when set, hears what is generated and how
// long it took.
func LoadCorpus(ctx context.Context, cacheDir string, scale float64, seed uint64, log func(string)) (*Corpus, error) {
	cfg := ScaleConfig(scale, seed)
	key, err := corpusKey(scale, cfg)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cacheDir, key)
	c := &Corpus{Scale: scale, Seed: seed, Config: cfg, Native: filepath.Join(dir, "native"), dir: dir, log: log}
	statsFile := filepath.Join(dir, "stats.json")
	if b, err := os.ReadFile(statsFile); err == nil {
		if err := json.Unmarshal(b, &c.Stats); err != nil {
			return nil, fmt.Errorf("corpus %s: %w", dir, err)
		}
		return c, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("corpus cache: %w", err)
	}
	err = build(dir, statsFile, func(tmp string) error {
		start := time.Now()
		st, err := synth.Generate(ctx, cfg, filepath.Join(tmp, "native"), synth.Options{})
		if err != nil {
			return fmt.Errorf("corpus at scale %g: %w", scale, err)
		}
		c.say("generated the corpus at scale %g (%d pipelines, %d executions, %d events) as Parquet in %.1fs", scale, st.Pipelines, st.Executions, st.Events, time.Since(start).Seconds())
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		c.Stats = st
		return os.WriteFile(filepath.Join(tmp, "stats.json"), b, 0o644)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
