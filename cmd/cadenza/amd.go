package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cadenza-dialer/cadenza/amd"
)

// newAMDCommand groups the answering-machine detection tools: scoring the
// detector on a labelled folder of recordings, and classifying one file.
func newAMDCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "amd",
		Short: "Answering-machine detection: evaluate on a labelled corpus, classify a recording",
	}
	cmd.AddCommand(newAMDEvalCommand(), newAMDClassifyCommand())
	return cmd
}

func amdProfileFlag(cmd *cobra.Command, profile *string) {
	cmd.Flags().StringVar(profile, "profile", "balanced", "detector profile: balanced, human_first or voicemail_drop")
}

func newAMDEvalCommand() *cobra.Command {
	var (
		profile string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "eval DIR",
		Short: "Score the detector on DIR's WAV files against DIR/labels.csv",
		Long: `eval classifies every file listed in DIR/labels.csv (columns file,label and
optionally beep_end_ms, greeting_end_ms, set; label is human, machine, silence
or sit) and prints the confusion matrix, accuracy, the rate of humans judged
machines, decision latency per class and beep timing. amd/testdata/corpus is
such a folder (made by amd/testdata/gen.sh).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := amd.ProfileParams(profile)
			if err != nil {
				return err
			}
			rep, err := amd.Evaluate(args[0], p)
			if err != nil {
				return err
			}
			rep.Profile = profile
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	amdProfileFlag(cmd, &profile)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}

// classifyOutput is what "amd classify" prints.
type classifyOutput struct {
	File    string `json:"file"`
	Profile string `json:"profile"`
	amd.Classification
}

func newAMDClassifyCommand() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "classify FILE.wav",
		Short: "Classify one recording (time 0 = answer) and print the verdict as JSON",
		Long: `classify runs the detector over FILE.wav in 20 ms frames and prints the
verdict, its cause and decision_ms (from the start of the file); on a machine it
goes on to find the beep (beep_end_ms) and the moment to start a voicemail
(drop_ms, drop_reason). The WAV may be PCM (8 or 16 bit, 8-48 kHz, mono or
stereo) or G.711 A-law/µ-law.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := amd.ProfileParams(profile)
			if err != nil {
				return err
			}
			c, err := amd.ClassifyFile(args[0], p)
			if err != nil {
				return fmt.Errorf("amd classify: %w", err)
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(classifyOutput{File: args[0], Profile: profile, Classification: c})
		},
	}
	amdProfileFlag(cmd, &profile)
	return cmd
}
