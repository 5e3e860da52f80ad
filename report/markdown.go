package report

import (
	"bytes"
	"fmt"
	"strings"

	"mlprov/internal/plot"
)

// markdown renders the report as GitHub-flavoured Markdown, plots linked from plots/.
func markdown(d *document) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# mlprov report\n\n")
	w("The analyses of *Production Machine Learning Pipelines: Empirical Analysis and Optimization\n")
	w("Opportunities* (Xin et al., SIGMOD 2021), run on one provenance store.\n\n")
	w("- store: `%s` (%d %s)\n", d.Fingerprint, d.Sources, plural(d.Sources, "source"))
	if d.Seed != "" {
		w("- generated corpus, seed %s\n", d.Seed)
	}
	w("- mlprov %s\n", d.Version)
	w("- every result in full: [results.json](results.json); how this report was made: [manifest.json](manifest.json)\n\n")
	if d.Headline != nil {
		w("## Headline: the paper beside this corpus\n\n")
		w("%s.\n\n", strings.TrimSuffix(upperFirst(d.Headline.Description), "."))
		if d.Headline.Lead != "" {
			w("%s\n\n", d.Headline.Lead)
		}
		mdTable(&b, d.Headline.Table)
		mdRowsNote(&b, d.Headline)
		w("\n")
	}
	w("## Contents\n\n")
	for i, s := range d.Sections {
		w("%d. [%s](#%s) (%s): %s\n", i+1, s.Name, s.Name, s.Topic, s.Description)
	}
	for _, s := range d.Sections {
		w("\n## %s\n\n", s.Name)
		w("%s. *Topic: %s.*\n\n", strings.TrimSuffix(upperFirst(s.Description), "."), s.Topic)
		if s.Empty != "" {
			w("*%s*\n", s.Empty)
		} else {
			mdSection(&b, s)
		}
		if s.SQL != "" {
			w("\n<details><summary>SQL</summary>\n\n```sql\n%s\n```\n\n</details>\n", s.SQL)
		}
	}
	return b.Bytes()
}

// mdSection writes a section that has rows: its lead, plot, summary and table.
func mdSection(b *bytes.Buffer, s *section) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if s.Lead != "" {
		w("%s\n\n", s.Lead)
	}
	if s.PNG != "" {
		w("![%s](%s)\n\n", plot.Title(s.Name), s.PNG)
	}
	if s.Note != "" {
		w("%s\n\n", s.Note)
	}
	if s.Summary != nil {
		w("Distribution of %s:\n\n", s.SummaryOf)
		mdTable(b, *s.Summary)
		w("\n")
	}
	mdTable(b, s.Table)
	mdRowsNote(b, s)
}

func mdTable(b *bytes.Buffer, t table) {
	if len(t.Columns) == 0 {
		return
	}
	b.WriteString("|")
	for _, c := range t.Columns {
		b.WriteString(" " + mdEscape(c) + " |")
	}
	b.WriteString("\n|")
	for i := range t.Columns {
		if t.Numeric[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("|")
		for _, c := range r {
			b.WriteString(" " + mdEscape(c) + " |")
		}
		b.WriteString("\n")
	}
}

func mdRowsNote(b *bytes.Buffer, s *section) {
	switch {
	case s.Total == 0 && s.Empty != "":
		fmt.Fprintf(b, "\n*%s*\n", s.Empty)
	case s.Total == 0:
		b.WriteString("\n*No rows.*\n")
	case s.Shown() < s.Total:
		fmt.Fprintf(b, "\n*The first %d of %d rows, in the analysis's order; results.json has them all.*\n", s.Shown(), s.Total)
	}
}

// mdEscape keeps a cell inside its table: pipes escaped, line breaks flattened.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
