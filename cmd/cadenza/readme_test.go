package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
)

// tourBlock is the shell block after <!-- tour --> in README.md.
func tourBlock(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- tour -->\\s*```sh\\n(.*?)```").FindSubmatch(data)
	require.NotNil(t, m, "README.md has a tour block")
	return string(m[1])
}

// startServe runs `serve` in-process on a free port and returns its URL.
func startServe(t *testing.T, dbURL, adminKey string) string {
	t.Helper()
	cfg, err := config.Load("", func(k string) string {
		switch k {
		case "CADENZA_HTTP_ADDR":
			return "127.0.0.1:0"
		case "CADENZA_DATABASE_URL":
			return dbURL
		case "CADENZA_ADMIN_KEY":
			return adminKey
		case "CADENZA_LOG_LEVEL":
			return "warn"
		}
		return ""
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	errc := make(chan error, 1)
	var logs syncBuffer
	go func() {
		errc <- serve(ctx, cfg, serveIO{out: io.Discard, log: &logs, ready: func(a string) { addr <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			require.NoError(t, err, "serve exits cleanly on shutdown")
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-errc:
		t.Fatalf("serve failed: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runTour runs the README's block with bash from the repository root.
func runTour(t *testing.T, url, adminKey string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("curl is needed for the README tour (make test installs it)")
		}
		t.Skip("curl not installed")
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", tourBlock(t))
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CADENZA_URL="+url, "CADENZA_ADMIN_KEY="+adminKey)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README tour failed:\n%s", out)
	return string(out)
}

func checkTourOutput(t *testing.T, out string) {
	t.Helper()
	require.Regexp(t, `imported cadence [0-9a-f-]{36}`, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Contains(t, lines, `"version":2`, "the edit made version 2")
	require.Equal(t, 1, strings.Count(out, `"version":1`), "versions lists version 1 once")
	require.Contains(t, out, `"format": "cadenza.cadence/v1"`)
}

func TestReadmeTourSQLite(t *testing.T) {
	t.Parallel()
	const key = "cdz_tour_admin_key_sqlite"
	url := startServe(t, "sqlite:"+filepath.Join(t.TempDir(), "tour.db"), key)
	checkTourOutput(t, runTour(t, url, key))
}

func TestReadmeTourPostgres(t *testing.T) {
	t.Parallel()
	base := os.Getenv("CADENZA_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("CADENZA_TEST_POSTGRES_URL is not set under make test")
		}
		t.Skip("CADENZA_TEST_POSTGRES_URL not set (make test sets it)")
	}
	schema := fmt.Sprintf("readme_tour_%d", time.Now().UnixNano())
	dbURL := createSchema(t, base, schema)
	const key = "cdz_tour_admin_key_postgres"
	url := startServe(t, dbURL, key)
	checkTourOutput(t, runTour(t, url, key))
}

// createSchema makes a fresh schema for one test and returns a URL that uses
// it (pgx sends search_path as a run-time parameter); it is dropped at cleanup.
func createSchema(t *testing.T, base, schema string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
