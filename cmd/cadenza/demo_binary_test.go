package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBuiltBinaryRunsDemoAnywhere builds the real binary the way a
// newcomer's `go build ./cmd/cadenza` (or `go run`) does, then runs a short
// demo from an empty directory outside the checkout: the cadences, the
// simulator's audio and the contacts must come from the binary itself, and
// the demo must leave nothing behind in the working directory.
func TestBuiltBinaryRunsDemoAnywhere(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build the binary")
	bin := filepath.Join(t.TempDir(), "cadenza")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".")
	// Build without the test's race flags, as a user would: this also
	// leaves the build cache ready for `go run ./cmd/cadenza demo`.
	build.Env = append(os.Environ(), "GOFLAGS=")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	work := t.TempDir()
	demo := exec.CommandContext(ctx, bin, "demo", "--contacts", "6", "--speed", "240", "--timeout", "3m")
	demo.Dir = work
	demo.Env = append(os.Environ(), "HOME="+work)
	out, err = demo.CombinedOutput()
	require.NoError(t, err, "cadenza demo from %s:\n%s", work, out)
	text := string(out)
	require.Contains(t, text, "Cadenza demo summary")
	require.Positive(t, summaryInt(t, text, "call attempts"))
	left, err := os.ReadDir(work)
	require.NoError(t, err)
	require.Empty(t, left, "the demo left files in its working directory")
}
