package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testURL returns the test database's URL, skipping (or, under make test,
// failing) when there is none.
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("CADENZA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			tb.Fatal("CADENZA_TEST_POSTGRES_URL is empty but CADENZA_TEST_REQUIRE_SERVICES=1")
		}
		tb.Skip("CADENZA_TEST_POSTGRES_URL is not set; it is set by make test")
	}
	return url
}

// newSchema creates an empty schema with a random name and drops it, with
// everything in it, at cleanup.
func newSchema(tb testing.TB, url string) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "cadenza_test_" + hex.EncodeToString(b)
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	require.NoError(tb, exec(tb.Context(), "CREATE SCHEMA "+name))
	tb.Cleanup(func() {
		if err := exec(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// openIn opens a store on schema, closed at cleanup (registered after the
// schema's, so it runs before the drop).
func openIn(tb testing.TB, url, schema string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url, postgres.WithSchema(schema), postgres.WithMaxConns(8))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// newStore returns a migrated store in a schema of its own.
func newStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	url := testURL(tb)
	s := openIn(tb, url, newSchema(tb, url))
	require.NoError(tb, s.Migrate(tb.Context()))
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return newStore(t) })
}

func BenchmarkCreateCadence(b *testing.B) { storetest.BenchCreateCadence(b, newStore(b)) }

func BenchmarkGetCadence(b *testing.B) { storetest.BenchGetCadence(b, newStore(b)) }
