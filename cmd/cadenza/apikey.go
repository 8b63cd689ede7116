package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cadenza-dialer/cadenza/api"
	"github.com/cadenza-dialer/cadenza/cmd/cadenza/config"
	"github.com/cadenza-dialer/cadenza/engine"
)

func newAPIKeyCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Create, list and delete API keys directly in the database",
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "", "YAML config file")

	var role, name, agentID string
	create := &cobra.Command{
		Use:   "create --role ROLE --name NAME [--agent AGENT_ID]",
		Short: "Create an API key and print its secret (shown only once)",
		Long: "Create an API key and print its secret (shown only once).\n\n" +
			"--agent binds a key of role agent to one agent: it may then change only that agent's state, " +
			"follow only its events and accept prompts only for it. Bind the keys you hand to agent UIs; " +
			"an unbound agent key may act for any agent.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := engine.Role(role)
			if r.Rank() == 0 {
				return fmt.Errorf("--role: %q must be admin, manager, agent or viewer", role)
			}
			if name == "" {
				return fmt.Errorf("--name: required")
			}
			if agentID != "" && r != engine.RoleAgent {
				return fmt.Errorf("--agent: only a key of role agent can be bound to an agent, not %s", r)
			}
			cfg, err := config.Load(cfgPath, os.Getenv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := openMigrated(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer s.Close()
			secret, key, err := api.CreateKeyWith(ctx, s, api.KeySpec{Name: name, Role: r, AgentID: agentID}, time.Now())
			if err != nil {
				return fmt.Errorf("create key: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", secret)
			if err == nil {
				bound := ""
				if key.AgentID != "" {
					bound = fmt.Sprintf(" bound to agent %s", key.AgentID)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "created %s key %q (id %s)%s; the secret above is not stored and will not be shown again\n", key.Role, key.Name, key.ID, bound)
			}
			return err
		},
	}
	create.Flags().StringVar(&role, "role", "", "admin, manager, agent or viewer")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	create.Flags().StringVar(&agentID, "agent", "", "bind a key of role agent to this agent id (recommended for agent UIs)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets), one JSON object a line; agent_id shows a bound key's agent",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, os.Getenv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := openMigrated(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer s.Close()
			enc := json.NewEncoder(cmd.OutOrStdout())
			page := engine.Page{Limit: 500}
			for {
				keys, next, err := s.ListAPIKeys(ctx, page)
				if err != nil {
					return fmt.Errorf("list keys: %w", err)
				}
				for _, k := range keys {
					if err := enc.Encode(k); err != nil {
						return err
					}
				}
				if next == "" {
					return nil
				}
				page.After = next
			}
		},
	}

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(cfgPath, os.Getenv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := openMigrated(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.DeleteAPIKey(ctx, args[0]); err != nil {
				return fmt.Errorf("delete key %s: %w", args[0], err)
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, del)
	return cmd
}
