package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/cadenza-dialer/cadenza"

// layerRule says what a package tree may not import (ARCHITECTURE.md,
// "Packages": amd ← dialer ← sip, dialer/ari ← engine ← api ← cmd).
type layerRule struct {
	pkg        string   // package path relative to the module; a prefix covers sub-packages
	forbidden  []string // module-relative prefixes it must not import
	stdlibOnly bool     // no third-party imports either
}

var layerRules = []layerRule{
	{pkg: "amd", stdlibOnly: true, forbidden: []string{"dialer", "sip", "engine", "api", "cmd"}},
	{pkg: "dialer", forbidden: []string{"engine", "api", "cmd", "sip"}},
	{pkg: "sip", forbidden: []string{"engine", "api", "cmd", "dialer/ari"}},
	{pkg: "engine", forbidden: []string{"sip", "dialer/ari", "dialer/pacing", "dialer/callerid", "api", "cmd"}},
	{pkg: "api", forbidden: []string{"cmd", "sip", "dialer/ari"}},
}

// The dialer's own root must not import its ARI driver either (drivers are
// wired in cmd), though dialer/ari may import the dialer.
var rootOnlyRules = map[string][]string{
	"dialer": {"dialer/ari"},
}

// TestLayering parses every non-test Go file and checks the import rules, so
// the architecture cannot drift silently.
func TestLayering(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	imports := map[string]map[string]bool{} // package → imports
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imports[pkg][p] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, imports, "cmd/cadenza", "the walk found the module")

	violations, checked := layeringViolations(imports)
	for _, v := range violations {
		t.Error(v)
	}
	require.Positive(t, checked)
}

// layeringViolations applies the rules to a package → imports map.
func layeringViolations(imports map[string]map[string]bool) (violations []string, checked int) {
	under := func(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
	for pkg, imps := range imports {
		for imp := range imps {
			local, isLocal := strings.CutPrefix(imp, module+"/")
			for _, r := range layerRules {
				if !under(pkg, r.pkg) {
					continue
				}
				checked++
				if r.stdlibOnly && !isLocal && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					violations = append(violations, fmt.Sprintf("%s imports %s: %s may use the standard library only", pkg, imp, r.pkg))
				}
				if !isLocal {
					continue
				}
				for _, f := range r.forbidden {
					if under(local, f) && !under(pkg, f) {
						violations = append(violations, fmt.Sprintf("%s imports %s, which %s must not (ARCHITECTURE.md)", pkg, imp, r.pkg))
					}
				}
			}
			if isLocal {
				for _, f := range rootOnlyRules[pkg] {
					if under(local, f) {
						violations = append(violations, fmt.Sprintf("%s imports %s: drivers are wired in cmd/cadenza only", pkg, imp))
					}
				}
				if (under(local, "cmd") || under(local, "api")) && !under(pkg, "cmd") && !under(pkg, "api") {
					violations = append(violations, fmt.Sprintf("%s imports %s: nothing imports cmd or api", pkg, imp))
				}
			}
		}
	}
	sort.Strings(violations)
	return violations, checked
}

// The checker itself catches each kind of violation.
func TestLayeringCatchesViolations(t *testing.T) {
	t.Parallel()
	m := func(imps ...string) map[string]bool {
		out := map[string]bool{}
		for _, i := range imps {
			out[i] = true
		}
		return out
	}
	got, _ := layeringViolations(map[string]map[string]bool{
		"amd":           m("github.com/pion/rtp"),
		"dialer":        m(module+"/engine", module+"/dialer/ari", module+"/dialer/pacing"),
		"engine/sqlite": m(module + "/sip"),
		"engine":        m(module + "/dialer"),
		"sip/sim":       m(module + "/api"),
		"dialer/ari":    m(module + "/dialer"),
		"api":           m(module+"/engine", module+"/dialer"),
		"cmd/cadenza":   m(module+"/api", module+"/sip"),
	})
	require.Equal(t, []string{
		"amd imports github.com/pion/rtp: amd may use the standard library only",
		"dialer imports " + module + "/dialer/ari: drivers are wired in cmd/cadenza only",
		"dialer imports " + module + "/engine, which dialer must not (ARCHITECTURE.md)",
		"engine/sqlite imports " + module + "/sip, which engine must not (ARCHITECTURE.md)",
		"sip/sim imports " + module + "/api, which sip must not (ARCHITECTURE.md)",
		"sip/sim imports " + module + "/api: nothing imports cmd or api",
	}, got)
}
