package mlmd_test

import (
	"strings"
	"testing"

	"mlprov/loaders/mlmd"
)

// TestServerAddress checks how a mysql:// or postgres:// address names its source: without the password, the same
// source whatever the password and the connection's parameters, and errors that never
// repeat a password.
func TestServerAddress(t *testing.T) {
	s := &mlmd.Server{}
	for _, c := range []struct{ path, shown, identity string }{
		{"mysql://reader:s3cret@db.example:3307/metadb", "mysql://reader@db.example:3307/metadb", "mysql://reader@db.example:3307/metadb"},
		{"mysql://reader@db.example/metadb?tls=true", "mysql://reader@db.example/metadb?tls=true", "mysql://reader@db.example:3306/metadb"},
		{"mysql://reader:p%40ss:w0rd@10.0.0.5:3306/metadb", "mysql://reader@10.0.0.5:3306/metadb", "mysql://reader@10.0.0.5:3306/metadb"},
		// Passwords that were not %-escaped: / and @ in them.
		{"mysql://reader:s3c/ret@db.example/metadb", "mysql://reader@db.example/metadb", "mysql://reader@db.example:3306/metadb"},
		{"mysql://reader:s3c@r/et@db.example/metadb?tls=true", "mysql://reader@db.example/metadb?tls=true", "mysql://reader@db.example:3306/metadb"},
		{"postgres://reader:s3cret@db.example/metadb", "postgres://reader@db.example/metadb", "postgres://reader@db.example:5432/metadb"},
		{"postgresql://reader@db.example:5433/metadb?sslmode=require&password=s3cret", "postgresql://reader@db.example:5433/metadb?sslmode=require", "postgres://reader@db.example:5433/metadb"},
		{"postgres://reader:s3c/r@t@[::1]/metadb?password=s3cret", "postgres://reader@[::1]/metadb", "postgres://reader@[::1]:5432/metadb"},
	} {
		if got := s.Redact(c.path); got != c.shown {
			t.Errorf("Redact(%q) = %q, want %q", c.path, got, c.shown)
		}
		if got, err := s.Identity(c.path); err != nil || got != c.identity {
			t.Errorf("Identity(%q) = %q, %v; want %q", c.path, got, err, c.identity)
		}
	}
	for _, path := range []string{
		"mysql://reader:s3cret@db.example:port/metadb",
		"mysql://reader:s3cret@db.example/",
		"mysql://:s3cret@db.example/metadb",
		"mysql://reader:s3cret@db.example/metadb?tls=maybe",
		"mysql://reader:s3c/ret@db.example:port/metadb",
		"mysql://reader:s3cret%zz@db.example/metadb",
		"postgres://reader:s3cret@db.example:port/metadb",
		"postgres://reader:s3cret@db.example/",
		"postgres://reader:s3cret@db.example/metadb?sslmode=maybe",
		"postgres://reader:s3cret%zz@db.example/metadb",
	} {
		_, err := s.Identity(path)
		if err == nil {
			t.Errorf("Identity(%q) succeeded", path)
			continue
		}
		if strings.Contains(err.Error(), "s3c") || strings.Contains(err.Error(), "zz") {
			t.Errorf("Identity(%q): error %q shows the password", path, err)
		}
		t.Log(err)
	}
}
