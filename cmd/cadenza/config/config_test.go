package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// The shipped example loads cleanly and says what the defaults say.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../../../configs/cadenza.yaml", noEnv)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTP.Addr)
	require.Equal(t, "sqlite:./cadenza.db", cfg.Database.URL)
	require.Equal(t, Limit{Max: 3, Period: 24 * time.Hour}, cfg.Business.Harassment.Calls)
	def := Default()
	require.Equal(t, def.HTTP, cfg.HTTP, "the example documents the defaults")
	require.Equal(t, def.Database, cfg.Database)
	require.Equal(t, def.Redis, cfg.Redis)
	require.Equal(t, def.Log, cfg.Log)
	require.Equal(t, def.Business, cfg.Business)

	// The includes bring in the trunks and pools examples.
	var names []string
	for _, tr := range cfg.Trunks {
		names = append(names, tr.Name+"/"+tr.Driver)
	}
	require.Equal(t, []string{"asterisk/ari", "carrier-a/sip", "carrier-b/sip", "sim/sip"}, names)
	require.NotEmpty(t, cfg.Pools)
	require.Equal(t, "cadenza", cfg.ARI.App)
	require.Equal(t, "CADENZA_ARI_PASSWORD", cfg.ARI.PasswordEnv)
	a, ok := cfg.Trunk("carrier-a")
	require.True(t, ok)
	require.ErrorContains(t, a.CheckPassword(), "CADENZA_TRUNK_CARRIER_A_PASSWORD (password_env) is not set")
	sim, _ := cfg.Trunk("sim")
	require.NoError(t, sim.CheckPassword())
}

func TestSecretsFromEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../../../configs/cadenza.yaml", envOf(map[string]string{
		"CADENZA_TRUNK_CARRIER_A_PASSWORD": "pw-a",
		"CADENZA_ARI_PASSWORD":             "pw-ari",
	}))
	require.NoError(t, err)
	a, _ := cfg.Trunk("carrier-a")
	require.Equal(t, "pw-a", a.Password)
	require.NoError(t, a.CheckPassword())
	require.Equal(t, "pw-ari", cfg.ARI.Password)
}

func TestIncludeErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.yaml"), []byte("include: [more.yaml]\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "more.yaml"), []byte("trunks:\n  - name: x\n    colour: red\n"), 0o600))
	_, err := Load(filepath.Join(dir, "main.yaml"), noEnv)
	require.ErrorContains(t, err, `more.yaml: line 3: unknown key "colour" in trunks[]`)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "loop.yaml"), []byte("include: [loop.yaml]\n"), 0o600))
	_, err = Load(filepath.Join(dir, "loop.yaml"), noEnv)
	require.ErrorContains(t, err, "included twice")
}

func TestNoFileIsDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", noEnv)
	require.NoError(t, err)
	require.Equal(t, Default(), *cfg)
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../../../configs/cadenza.yaml", envOf(map[string]string{
		"CADENZA_HTTP_ADDR":    "0.0.0.0:9000",
		"CADENZA_DATABASE_URL": "postgres://cadenza:secret@db:5432/cadenza",
		"CADENZA_REDIS_URL":    "redis://:pw@redis:6379/0",
		"CADENZA_ADMIN_KEY":    "cdz_bootstrap",
		"CADENZA_LOG_LEVEL":    "debug",
		"CADENZA_LOG_FORMAT":   "json",
		"CADENZA_TIMEZONE":     "America/Chicago",
	}))
	require.NoError(t, err, "passwords are fine from the environment")
	require.Equal(t, "0.0.0.0:9000", cfg.HTTP.Addr)
	require.Equal(t, "postgres://cadenza:secret@db:5432/cadenza", cfg.Database.URL)
	require.Equal(t, "redis://:pw@redis:6379/0", cfg.Redis.URL)
	require.Equal(t, "cdz_bootstrap", cfg.AdminKey)
	require.Equal(t, "debug", cfg.Log.Level)
	require.Equal(t, "json", cfg.Log.Format)
	require.Equal(t, "America/Chicago", cfg.Business.TimeZone)
	driver, dsn, err := cfg.Database.Parse()
	require.NoError(t, err)
	require.Equal(t, DriverPostgres, driver)
	require.Equal(t, cfg.Database.URL, dsn)
}

// Each bad file in testdata/bad has its expected errors, every one of them.
func TestBadConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".errors")
			require.NoError(t, err)
			_, err = Load(f, noEnv)
			require.Error(t, err)
			var errs Errors
			require.ErrorAs(t, err, &errs)
			require.Equal(t, strings.Split(strings.TrimSpace(string(want)), "\n"), []string(errs))
		})
	}
}

func TestDatabaseParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, driver, dsn, err string
	}{
		{url: "sqlite:./cadenza.db", driver: DriverSQLite, dsn: "./cadenza.db"},
		{url: "sqlite:/var/lib/cadenza/db", driver: DriverSQLite, dsn: "/var/lib/cadenza/db"},
		{url: "sqlite:", err: "needs a path"},
		{url: "postgres://u@h:5432/d?sslmode=disable", driver: DriverPostgres, dsn: "postgres://u@h:5432/d?sslmode=disable"},
		{url: "postgresql://u@h/d", driver: DriverPostgres, dsn: "postgresql://u@h/d"},
		{url: "postgres://", err: "not a valid postgres URL"},
		{url: "", err: "required"},
		{url: "mysql://x", err: "want"},
	} {
		driver, dsn, err := Database{URL: tc.url}.Parse()
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.url)
			continue
		}
		require.NoError(t, err, tc.url)
		require.Equal(t, tc.driver, driver, tc.url)
		require.Equal(t, tc.dsn, dsn, tc.url)
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), noEnv)
	require.ErrorContains(t, err, "no such file")
}
