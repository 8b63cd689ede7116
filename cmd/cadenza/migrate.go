package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
)

func newMigrateCommand() *cobra.Command {
	var cfgPath string
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations (serve also does at start)",
		Long: "migrate brings the database named by database.url (or CADENZA_DATABASE_URL) to the\n" +
			"newest schema. Migrations are numbered, embedded in the binary and applied in order,\n" +
			"each in its own transaction; running it twice, or on several nodes at once, is safe.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, os.Getenv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := openStore(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer s.Close()
			if !status {
				if err := s.Migrate(ctx); err != nil {
					return fmt.Errorf("migrate: %w", err)
				}
			}
			applied, total, err := s.MigrationStatus(ctx)
			if err != nil {
				return fmt.Errorf("migration status: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "schema: %d of %d migrations applied\n", applied, total)
			return err
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "YAML config file (default: built-in defaults plus CADENZA_* variables)")
	cmd.Flags().BoolVar(&status, "status", false, "only report how many migrations are applied")
	return cmd
}
