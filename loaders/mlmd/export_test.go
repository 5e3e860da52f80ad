package mlmd

// The fixtures and helpers that the tests of package mlmd_test share with those of mlmd.
var (
	BuildStore = buildStore
	Dump       = dump
	TfxIR      = tfxIR
	TfxLegacy  = tfxLegacy
	Kubeflow   = kubeflow
	Snapshot   = snapshot
)
