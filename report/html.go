package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"

	"mlprov/internal/plot"
)

//go:embed report.html.tmpl
var htmlText string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"sentence": func(s string) string { return strings.TrimSuffix(upperFirst(s), ".") + "." },
	// The PNG is embedded as a data URL so that the page needs no other file.
	"dataURL": func(s string) template.URL { return template.URL(s) },
	"title":   plot.Title,
}).Parse(htmlText))

// html renders the report as one self-contained page: styles inline, plots as data URLs,
// nothing fetched from anywhere.
func html(d *document) ([]byte, error) {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
