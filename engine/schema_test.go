package engine_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
)

// TestTablesMatchSchema checks engine.Tables against the migrated store: every canonical
// table with its columns in order, their types and NOT NULL.
func TestTablesMatchSchema(t *testing.T) {
	ctx := context.Background()
	e := open(t, ":memory:", engine.Options{})
	for _, table := range engine.Tables {
		rows, err := e.DB().QueryContext(ctx, `SELECT column_name, data_type, is_nullable = 'NO'
			FROM information_schema.columns WHERE table_catalog = current_database()
			AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position`, table.Name)
		if err != nil {
			t.Fatal(err)
		}
		var got []engine.Column
		for rows.Next() {
			var c engine.Column
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		var want []engine.Column
		for _, c := range table.Columns {
			want = append(want, engine.Column{Name: c.Name, Type: c.Type, NotNull: c.NotNull})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s: engine.Tables differs from the store (-want +got):\n%s", table.Name, diff)
		}
		for _, c := range table.Columns {
			if (c.Required || c.Assigned) && !c.NotNull {
				t.Errorf("%s.%s: a required or assigned column must be NOT NULL", table.Name, c.Name)
			}
		}
		for _, k := range table.Key {
			if !slices.Contains(engine.Names(table.Columns), k) {
				t.Errorf("%s: key %s is not a column", table.Name, k)
			}
		}
	}
}

// TestCategoriesMatchSeed checks engine.Categories against the op_categories the schema seeds:
// every seeded category is one of them, and each of them is seeded.
func TestCategoriesMatchSeed(t *testing.T) {
	ctx := context.Background()
	e := open(t, ":memory:", engine.Options{})
	rows, err := e.DB().QueryContext(ctx, `SELECT DISTINCT category FROM op_categories`)
	if err != nil {
		t.Fatal(err)
	}
	seeded := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		seeded[c] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	got, want := slices.Sorted(maps.Keys(seeded)), slices.Sorted(slices.Values(engine.Categories))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("op_categories seeds other categories than engine.Categories (-want +got):\n%s", diff)
	}
}

// TestExportFormatsAreFileFormats checks that Export writes exactly the native layout's formats.
func TestExportFormatsAreFileFormats(t *testing.T) {
	got, want := slices.Sorted(maps.Keys(engine.ExportFormats)), slices.Sorted(slices.Values(engine.FileFormats))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExportFormats differ from FileFormats (-want +got):\n%s", diff)
	}
}
