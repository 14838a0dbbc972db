//go:build race

package meta

// raceEnabled: built with the race detector (arenas.go).
const raceEnabled = true
