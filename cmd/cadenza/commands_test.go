package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
)

// run executes the cadenza command line in-process.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// migrate and apikey work on the database CADENZA_DATABASE_URL names.
func TestMigrateAndAPIKeyCommands(t *testing.T) {
	t.Setenv("CADENZA_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "cmd.db"))

	out, _, err := run(t, "migrate", "--status")
	require.NoError(t, err)
	require.Regexp(t, `^schema: 0 of [1-9]\d* migrations applied\n$`, out)
	out, _, err = run(t, "migrate")
	require.NoError(t, err)
	m := regexp.MustCompile(`schema: (\d+) of (\d+) migrations applied`).FindStringSubmatch(out)
	require.NotNil(t, m)
	require.Equal(t, m[2], m[1], "all applied")
	out2, _, err := run(t, "migrate")
	require.NoError(t, err, "migrating twice is a no-op")
	require.Equal(t, out, out2)

	secret, info, err := run(t, "apikey", "create", "--role", "manager", "--name", "ci")
	require.NoError(t, err)
	require.Regexp(t, `^cdz_\S{20,}\n$`, secret)
	require.Contains(t, info, `created manager key "ci"`)

	_, _, err = run(t, "apikey", "create", "--role", "boss", "--name", "x")
	require.ErrorContains(t, err, `--role: "boss" must be admin, manager, agent or viewer`)
	_, _, err = run(t, "apikey", "create", "--role", "viewer")
	require.ErrorContains(t, err, "--name: required")

	out, _, err = run(t, "apikey", "list")
	require.NoError(t, err)
	var k struct{ ID, Name, Role string }
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &k))
	require.Equal(t, "ci", k.Name)
	require.Equal(t, "manager", k.Role)
	require.NotContains(t, out, strings.TrimSpace(secret), "secrets are never listed")

	_, _, err = run(t, "apikey", "delete", k.ID)
	require.NoError(t, err)
	out, _, err = run(t, "apikey", "list")
	require.NoError(t, err)
	require.Empty(t, out)
}

func TestBadDatabaseURL(t *testing.T) {
	t.Setenv("CADENZA_DATABASE_URL", "mysql://nope")
	_, _, err := run(t, "migrate")
	require.ErrorContains(t, err, "database.url")
}

// On an empty database serve prints a generated admin key once; the next
// start prints none.
func TestServePrintsFirstAdminKeyOnce(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "boot.db")
	start := func() string {
		cfg, err := config.Load("", func(k string) string {
			return map[string]string{"CADENZA_HTTP_ADDR": "127.0.0.1:0", "CADENZA_DATABASE_URL": db, "CADENZA_LOG_LEVEL": "error"}[k]
		})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		var out bytes.Buffer
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- serve(ctx, cfg, serveIO{out: &out, log: io.Discard, ready: func(a string) { ready <- a }})
		}()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("serve: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not start")
		}
		cancel()
		require.NoError(t, <-done)
		return out.String()
	}
	first := start()
	require.Regexp(t, `Created the first admin API key[^\n]*\n\n  cdz_\S+\n`, first)
	require.Empty(t, start(), "the key is printed once")
}
