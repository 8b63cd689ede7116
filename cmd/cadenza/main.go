// Command cadenza is Cadenza's one binary: the dialer server (serve), its
// schema tool (migrate), API keys (apikey), and the tools around it (demo,
// sim, dial, dryrun, amd). It is the only place that wires concrete
// implementations together.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones work on hosts without a zoneinfo database

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cadenza:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "cadenza",
		Short:         "Cadenza places outbound calls on cadences: a dialer server with SIP, ARI, AMD and compliance built in",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	// Each subcommand lives in its own file; add yours here, one line.
	root.AddCommand(
		newServeCommand(),
		newMigrateCommand(),
		newAPIKeyCommand(),
		newVersionCommand(),
		newAMDCommand(),
		newSimCommand(),
		newDialCommand(),
		newDryrunCommand(),
		newDemoCommand(),
	)
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "cadenza", version)
			return err
		},
	}
}
