package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/cadenza-dialer/cadenza/api"
	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
)

func newServeCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Cadenza server (REST API, scheduler, dialer)",
		Long: "serve loads the configuration (--config, then CADENZA_* variables), migrates the\n" +
			"database, creates the first admin API key on an empty database (from\n" +
			"CADENZA_ADMIN_KEY, or a generated one printed once), and serves the API until\n" +
			"interrupted, then drains in-flight requests.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, os.Getenv)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, serveIO{out: cmd.OutOrStdout(), log: cmd.ErrOrStderr()})
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "YAML config file (default: built-in defaults plus CADENZA_* variables)")
	return cmd
}

// serveIO is where serve writes; ready, when set, learns the bound address
// (tests listen on port 0).
type serveIO struct {
	out   io.Writer
	log   io.Writer
	ready func(addr string)
}

// serve runs the server until ctx ends.
func serve(ctx context.Context, cfg *config.Config, sio serveIO) error {
	logger := cfg.NewLogger(sio.log)
	st, err := openMigrated(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	driver, _, _ := cfg.Database.Parse()
	logger.Info("database ready", "driver", driver)

	printed, err := api.BootstrapAdmin(ctx, st, cfg.AdminKey, time.Now())
	if err != nil {
		return fmt.Errorf("bootstrap admin key: %w", err)
	}
	if printed != "" {
		fmt.Fprintf(sio.out, "Created the first admin API key (shown once, store it now):\n\n  %s\n\n", printed)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	calls, err := startCalling(ctx, cfg, st, logger, reg)
	if err != nil {
		return err
	}
	// Stop placing calls after the API has drained: the scheduler stops
	// claiming, calls in flight finish, then the drivers hang up the rest.
	defer calls.stop()
	opts := api.Options{
		Store:         st,
		Logger:        logger.With("component", "api"),
		Registerer:    reg,
		Gatherer:      reg,
		Now:           time.Now,
		MaxBodyBytes:  cfg.HTTP.MaxBodyBytes,
		MaxAssetBytes: cfg.HTTP.MaxAssetBytes,
		Version:       version,
	}
	calls.apiOptions(&opts, cfg)
	srv, err := api.New(opts)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	addr := ln.Addr().String()
	logger.Info("listening", "url", "http://"+addr)
	if sio.ready != nil {
		sio.ready(addr)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Agents' event streams never end by themselves: close them so the
	// graceful shutdown does not wait for them.
	hs.RegisterOnShutdown(srv.CloseStreams)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		purgeIdempotency(gctx, st, logger)
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		logger.Info("shutting down", "drain", cfg.HTTP.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), cfg.HTTP.ShutdownTimeout)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			return fmt.Errorf("http shutdown: %w", err)
		}
		return nil
	})
	return g.Wait()
}

// purgeIdempotency drops stored Idempotency-Key responses older than a day,
// hourly, until ctx ends.
func purgeIdempotency(ctx context.Context, st store, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := st.PurgeIdempotent(ctx, time.Now().Add(-24*time.Hour))
		if err != nil && ctx.Err() == nil {
			logger.Warn("purge idempotency keys", "err", err)
		} else if n > 0 {
			logger.Debug("purged idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
