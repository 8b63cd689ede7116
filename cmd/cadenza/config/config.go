// Package config is Cadenza's one typed configuration: defaults, strict YAML
// loading (unknown keys are errors naming the key and line), CADENZA_*
// environment overrides, and validation that reports every problem at once.
// Secrets never come from the file: only from the environment.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // zones on machines without a zoneinfo database

	"gopkg.in/yaml.v3"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

// Config is the whole server configuration. Every field has a default, so an
// empty file (or none) is a working single-node setup on SQLite.
type Config struct {
	// HTTP is the API listener.
	HTTP HTTP `yaml:"http"`
	// Database is where cadences, enrollments and the schedule live.
	Database Database `yaml:"database"`
	// Redis shares pacing and caller-ID rotation between nodes; optional.
	Redis Redis `yaml:"redis"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// Business holds the defaults of the business that runs the dialer.
	Business Business `yaml:"business"`
	// Include names more YAML files of the same shape, relative to this
	// one, whose lists (trunks, pools) are appended and whose other keys
	// must not repeat ones already set (e.g. configs/trunks.yaml).
	Include []string `yaml:"include"`
	// Trunks are the ways out: native SIP trunks or Asterisk (ARI) endpoints.
	Trunks []Trunk `yaml:"trunks"`
	// Pools are the caller-ID pools (see configs/callerid-pools.yaml).
	Pools []callerid.PoolConfig `yaml:"pools"`
	// Dialer tunes how this node places cadence calls.
	Dialer Dialer `yaml:"dialer"`
	// Pacing holds global caps across trunks (each trunk has its own too).
	Pacing Pacing `yaml:"pacing"`
	// ARI connects to Asterisk for trunks with driver: ari.
	ARI ARI `yaml:"ari"`
	// Triggers are webhook enrollments: POST /v1/triggers/{key} enrolls the
	// posted contact into the cadence, authenticated by the trigger's secret.
	Triggers []Trigger `yaml:"triggers"`
	// SMS is the gateway SMS steps are sent through; optional.
	SMS SMS `yaml:"sms"`

	// AdminKey bootstraps the first admin API key on an empty database. It
	// comes only from CADENZA_ADMIN_KEY, never from the file.
	AdminKey string `yaml:"-"`
}

// HTTP configures the API server.
type HTTP struct {
	// Addr is the listen address, host:port. Default 127.0.0.1:8080
	// (loopback: expose it on purpose). Env: CADENZA_HTTP_ADDR.
	Addr string `yaml:"addr"`
	// MaxBodyBytes caps JSON request bodies; larger bodies get 413. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxAssetBytes caps audio uploads. Default 10 MiB.
	MaxAssetBytes int64 `yaml:"max_asset_bytes"`
	// ShutdownTimeout bounds the graceful drain of in-flight requests. Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Database selects the store.
type Database struct {
	// URL is "sqlite:PATH" (embedded, single node) or "postgres://…"
	// (production, many nodes). Default sqlite:./cadenza.db. A password in
	// the URL is accepted only from the environment (CADENZA_DATABASE_URL)
	// or through PGPASSWORD.
	URL string `yaml:"url"`
}

// Redis configures the shared pacing store.
type Redis struct {
	// URL is "redis://host:port/db"; empty means in-process pacing (one node
	// only). A password is accepted only from CADENZA_REDIS_URL.
	URL string `yaml:"url"`
}

// Log configures slog.
type Log struct {
	// Level is debug, info, warn or error. Default info. Env: CADENZA_LOG_LEVEL.
	Level string `yaml:"level"`
	// Format is text or json. Default text. Env: CADENZA_LOG_FORMAT.
	Format string `yaml:"format"`
}

// Business holds business-wide defaults.
type Business struct {
	// TimeZone is the IANA zone cadence hours are read in when a cadence
	// names none. Default America/New_York. Env: CADENZA_TIMEZONE.
	TimeZone string `yaml:"time_zone"`
	// Harassment is the business harassment rules ("Use Business Harassment
	// Rules" in a cadence). They apply across all cadences per contact.
	Harassment Harassment `yaml:"harassment"`
}

// Harassment is the business-wide per-contact limits.
type Harassment struct {
	// Calls caps calls to one contact. Default 3 per 24h.
	Calls Limit `yaml:"calls"`
	// SMS caps texts to one contact. Default 2 per 24h.
	SMS Limit `yaml:"sms"`
}

// Limit is at most Max in any rolling Period.
type Limit struct {
	Max    int           `yaml:"max"`
	Period time.Duration `yaml:"period"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Addr:            "127.0.0.1:8080",
			MaxBodyBytes:    1 << 20,
			MaxAssetBytes:   10 << 20,
			ShutdownTimeout: 15 * time.Second,
		},
		Database: Database{URL: "sqlite:./cadenza.db"},
		Log:      Log{Level: "info", Format: "text"},
		Business: Business{
			TimeZone: "America/New_York",
			Harassment: Harassment{
				Calls: Limit{Max: 3, Period: 24 * time.Hour},
				SMS:   Limit{Max: 2, Period: 24 * time.Hour},
			},
		},
	}
}

// Errors is every problem found in a configuration, one per line.
type Errors []string

func (e Errors) Error() string {
	if len(e) == 1 {
		return "config: " + e[0]
	}
	return "config: " + strconv.Itoa(len(e)) + " problems:\n  " + strings.Join(e, "\n  ")
}

// Load reads the YAML file at path ("" for none), applies environment
// overrides through getenv (os.Getenv in production), and validates. Every
// problem is reported at once as Errors.
func Load(path string, getenv func(string) string) (*Config, error) {
	cfg := Default()
	if path != "" {
		if err := loadFile(path, &cfg, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	var errs Errors
	errs = append(errs, secretsInFile(cfg)...)
	applyEnv(&cfg, getenv)
	cfg.resolveSecrets(getenv)
	errs = append(errs, cfg.Validate()...)
	if len(errs) > 0 {
		return nil, errs
	}
	return &cfg, nil
}

// loadFile decodes path into cfg, then its includes (relative to it), each
// at most once.
func loadFile(path string, cfg *Config, seen map[string]bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if seen[abs] {
		return Errors{fmt.Sprintf("%s: included twice", path)}
	}
	seen[abs] = true
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	trunks, pools := cfg.Trunks, cfg.Pools
	cfg.Trunks, cfg.Pools, cfg.Include = nil, nil, nil
	if err := decode(data, cfg); err != nil {
		var errs Errors
		if errors.As(err, &errs) && len(seen) > 1 {
			for i := range errs {
				errs[i] = filepath.Base(path) + ": " + errs[i]
			}
			return errs
		}
		return err
	}
	cfg.Trunks = append(trunks, cfg.Trunks...)
	cfg.Pools = append(pools, cfg.Pools...)
	includes := cfg.Include
	cfg.Include = nil
	for _, inc := range includes {
		if !filepath.IsAbs(inc) {
			inc = filepath.Join(filepath.Dir(path), inc)
		}
		if err := loadFile(inc, cfg, seen); err != nil {
			return err
		}
	}
	return nil
}

// knownFieldRE matches yaml.v3's unknown-key message so it can be reworded.
var knownFieldRE = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)

// decode strictly decodes YAML into cfg, reporting every unknown key with its
// line.
func decode(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make(Errors, 0, len(te.Errors))
		for _, msg := range te.Errors {
			if m := knownFieldRE.FindStringSubmatch(msg); m != nil {
				out = append(out, fmt.Sprintf("line %s: unknown key %q in %s", m[1], m[2], sectionName(m[3])))
				continue
			}
			out = append(out, strings.ReplaceAll(msg, "time.Duration", "duration (e.g. 30s, 24h)"))
		}
		return out
	}
	return Errors{err.Error()}
}

// sectionName turns a Go type name into the YAML section a user sees.
func sectionName(typ string) string {
	switch typ {
	case "Config":
		return "the top level"
	case "HTTP":
		return "http"
	case "Database":
		return "database"
	case "Redis":
		return "redis"
	case "Log":
		return "log"
	case "Business":
		return "business"
	case "Harassment":
		return "business.harassment"
	case "Limit":
		return "business.harassment.calls/sms"
	case "Trunk":
		return "trunks[]"
	case "PoolConfig", "Number":
		return "pools[]"
	case "Pacing":
		return "pacing"
	case "Dialer":
		return "dialer"
	case "ARI":
		return "ari"
	case "Trigger":
		return "triggers[]"
	case "SMS":
		return "sms"
	}
	return strings.ToLower(typ)
}

// secretsInFile refuses passwords written into the file: files end up in
// version control, the environment does not.
func secretsInFile(cfg Config) Errors {
	var errs Errors
	for _, f := range []struct{ key, val, env string }{
		{"database.url", cfg.Database.URL, "CADENZA_DATABASE_URL (or PGPASSWORD)"},
		{"redis.url", cfg.Redis.URL, "CADENZA_REDIS_URL"},
	} {
		if u, err := url.Parse(f.val); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				errs = append(errs, fmt.Sprintf("%s: holds a password; secrets come only from the environment: set %s", f.key, f.env))
			}
		}
	}
	return errs
}

// applyEnv applies the CADENZA_* overrides.
func applyEnv(cfg *Config, getenv func(string) string) {
	set := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	set("CADENZA_HTTP_ADDR", &cfg.HTTP.Addr)
	set("CADENZA_DATABASE_URL", &cfg.Database.URL)
	set("CADENZA_REDIS_URL", &cfg.Redis.URL)
	set("CADENZA_LOG_LEVEL", &cfg.Log.Level)
	set("CADENZA_LOG_FORMAT", &cfg.Log.Format)
	set("CADENZA_TIMEZONE", &cfg.Business.TimeZone)
	cfg.AdminKey = strings.TrimSpace(getenv("CADENZA_ADMIN_KEY"))
}

// Validate checks every field and returns every problem.
func (c *Config) Validate() Errors {
	var errs Errors
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	if host, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		add("http.addr: %q is not host:port", c.HTTP.Addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		add("http.addr: port %q must be 0..65535", port)
	} else {
		_ = host
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		add("http.max_body_bytes: must be at least 1024, got %d", c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.MaxAssetBytes < 1024 {
		add("http.max_asset_bytes: must be at least 1024, got %d", c.HTTP.MaxAssetBytes)
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		add("http.shutdown_timeout: must be positive")
	}

	if _, _, err := c.Database.Parse(); err != nil {
		add("database.url: %v", err)
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("redis.url: %q must look like redis://host:port/0", redactURL(c.Redis.URL))
		}
	}

	if _, err := ParseLevel(c.Log.Level); err != nil {
		add("log.level: %v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format: %q must be text or json", c.Log.Format)
	}

	errs = append(errs, c.validateDialer()...)
	errs = append(errs, c.SMS.validate()...)

	if c.Business.TimeZone == "" {
		add("business.time_zone: required (an IANA zone such as America/New_York)")
	} else if _, err := time.LoadLocation(c.Business.TimeZone); err != nil {
		add("business.time_zone: unknown time zone %q", c.Business.TimeZone)
	}
	for _, l := range []struct {
		key string
		lim Limit
	}{{"business.harassment.calls", c.Business.Harassment.Calls}, {"business.harassment.sms", c.Business.Harassment.SMS}} {
		if l.lim.Max < 1 {
			add("%s.max: must be at least 1, got %d", l.key, l.lim.Max)
		}
		if l.lim.Period < time.Minute {
			add("%s.period: must be at least 1m, got %s", l.key, l.lim.Period)
		}
	}
	return errs
}

// Driver names of Database.Parse.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Parse splits the database URL into a driver and its data source.
func (d Database) Parse() (driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(d.URL, "sqlite:"):
		path := strings.TrimPrefix(d.URL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", errors.New(`sqlite URL needs a path, e.g. "sqlite:./cadenza.db"`)
		}
		return DriverSQLite, path, nil
	case strings.HasPrefix(d.URL, "postgres://"), strings.HasPrefix(d.URL, "postgresql://"):
		u, err := url.Parse(d.URL)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("%q is not a valid postgres URL", redactURL(d.URL))
		}
		return DriverPostgres, d.URL, nil
	case d.URL == "":
		return "", "", errors.New(`required: "sqlite:PATH" or "postgres://…"`)
	}
	return "", "", fmt.Errorf("%q: want \"sqlite:PATH\" or \"postgres://…\"", redactURL(d.URL))
}

// redactURL hides a password in a URL for error messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// ParseLevel reads a slog level name.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q must be debug, info, warn or error", s)
}

// NewLogger builds the process logger the configuration asks for.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	level, _ := ParseLevel(c.Log.Level)
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
