// Package configs holds Cadenza's example configuration: the commented
// server config, caller-ID pools, and the example cadence documents that the
// demo imports. The cadences are embedded so that the one binary carries
// them; the other files are read from disk by their users.
package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// cadenceFiles is read-only: embed.FS cannot be modified.
//
//go:embed cadences/*.json
var cadenceFiles embed.FS

// Cadence returns the example cadence document called name ("five-step" or
// "five-step.json"), a cadenza.cadence/v1 document ready for import.
func Cadence(name string) ([]byte, error) {
	base := strings.TrimSuffix(name, ".json")
	if base == "" || strings.ContainsAny(base, `/\`) || base != path.Clean(base) {
		return nil, fmt.Errorf("example cadence %q: invalid name", name)
	}
	b, err := cadenceFiles.ReadFile("cadences/" + base + ".json")
	if err != nil {
		return nil, fmt.Errorf("example cadence %q: not found (have %s)", name, strings.Join(CadenceNames(), ", "))
	}
	return b, nil
}

// CadenceNames lists the example cadences, sorted, without ".json".
func CadenceNames() []string {
	entries, err := fs.ReadDir(cadenceFiles, "cadences")
	if err != nil { // cannot happen: the directory is embedded
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
