package report

// The -update flag of go test ./... -update is defined in internal/golden: every test binary
// must know it, golden files or not.
import _ "mlprov/internal/golden"
