package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDryrunFiveStep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	contacts := filepath.Join(dir, "contacts.csv")
	require.NoError(t, os.WriteFile(contacts, []byte("phone,first_name,last_name,timezone,state,zip,plan\n"+
		"+13055550100,Ada,Lovelace,America/New_York,FL,,gold\n"+
		"(415) 555-0101,Bob,,,,,\n"+
		"12,Bad,,,,,\n"+
		"+18085550102,Kai,,Pacific/Honolulu,HI,,\n"), 0o600))
	var out, errOut bytes.Buffer
	err := runDryrun(t.Context(), dryrunFlags{cadence: "../../configs/cadences/five-step.json", contacts: contacts,
		start: "2026-03-09T08:00:00-04:00", days: 3, outcomes: "+13055550100=busy,busy,human;*=no_answer"},
		func(string) string { return "" }, &out, &errOut)
	require.NoError(t, err)
	require.Contains(t, errOut.String(), "contacts.csv:4: phone: \"12\" is not a valid number")

	text := out.String()
	var lines []dryrunLine
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var l dryrunLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		lines = append(lines, l)
	}
	require.NotEmpty(t, lines)
	calls := map[string][]dryrunLine{}
	for _, l := range lines {
		at, err := time.Parse(time.RFC3339, l.At)
		require.NoError(t, err)
		require.Equal(t, time.UTC, at.Location(), "at is UTC")
		if l.Type == "call" {
			calls[l.Phone] = append(calls[l.Phone], l)
		}
	}
	// Florida: 09:00 busy, 13:00 busy, then Tuesday 09:00 human → stop.
	fl := calls["+13055550100"]
	require.Len(t, fl, 3)
	require.Equal(t, "2026-03-09T09:00:00-04:00", fl[0].Local)
	require.Equal(t, "busy", fl[0].Disposition)
	require.Equal(t, "2026-03-09T13:00:00-04:00", fl[1].Local)
	require.Equal(t, "2026-03-10T09:00:00-04:00", fl[2].Local)
	require.Equal(t, "human", fl[2].Disposition)
	// The 415 number was normalized and is called at 09:00 Pacific.
	require.Equal(t, "2026-03-09T09:00:00-07:00", calls["+14155550101"][0].Local)
	// Hawaii: 09:00 HST.
	require.Equal(t, "2026-03-09T09:00:00-10:00", calls["+18085550102"][0].Local)
	require.Contains(t, text, `"type":"blocked"`)
	require.Contains(t, text, `"type":"stopped"`)
}

func TestDryrunBadFlags(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "" }
	for _, tc := range []struct {
		f    dryrunFlags
		want string
	}{
		{dryrunFlags{cadence: "x.json", contacts: "c.csv", days: 0}, "--days"},
		{dryrunFlags{cadence: "x.json", contacts: "c.csv", days: 1, start: "monday"}, "--start"},
		{dryrunFlags{cadence: "nope.json", contacts: "c.csv", days: 1}, "--cadence"},
		{dryrunFlags{cadence: "../../configs/cadences/five-step.json", contacts: "c.csv", days: 1, outcomes: "ringing"}, "--outcomes"},
	} {
		err := runDryrun(t.Context(), tc.f, env, &bytes.Buffer{}, &bytes.Buffer{})
		require.ErrorContains(t, err, tc.want)
	}
}

func TestParseDryrunContacts(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	cs, err := parseDryrunContacts(strings.NewReader("Phone,first_name,timezone,color\n"+
		"+12125550100,Ann,America/New_York,blue\n"+
		"+12125550100,Dup,,\n"+
		"+12125550101,Tz,Mars/Olympus,\n"+
		"+12125550102,Short\n"), "c.csv", &errOut)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, "blue", cs[0].contact.Fields["color"])
	require.Contains(t, errOut.String(), "c.csv:3: phone: +12125550100 already on line 2")
	require.Contains(t, errOut.String(), "c.csv:4: timezone")
	require.Contains(t, errOut.String(), "c.csv:5: 2 columns")

	_, err = parseDryrunContacts(strings.NewReader("name\nx\n"), "c.csv", &errOut)
	require.ErrorContains(t, err, "phone column is required")
}

func FuzzParseDryrunContacts(f *testing.F) {
	f.Add("phone,first_name\n+12125550100,Ann\n")
	f.Add("phone,zip,x\n\"12\",\"9\"\"0\",y\n")
	f.Fuzz(func(t *testing.T, s string) {
		var errOut bytes.Buffer
		cs, err := parseDryrunContacts(strings.NewReader(s), "f.csv", &errOut)
		if err != nil {
			return
		}
		for _, c := range cs {
			if !strings.HasPrefix(c.contact.Phone, "+") {
				t.Fatalf("phone %q not E.164", c.contact.Phone)
			}
		}
	})
}

// --config supplies the business harassment rules: one call a day holds
// back a busy retry that the cadence would place 4 h later.
func TestDryrunConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	contacts := filepath.Join(dir, "c.csv")
	require.NoError(t, os.WriteFile(contacts, []byte("phone,timezone\n+12125550100,America/New_York\n"), 0o600))
	cfg := filepath.Join(dir, "cadenza.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("business:\n  time_zone: America/New_York\n  harassment:\n    calls: {max: 1, period: 24h}\n    sms: {max: 1, period: 24h}\n"), 0o600))
	var out bytes.Buffer
	err := runDryrun(t.Context(), dryrunFlags{cadence: "../../configs/cadences/five-step.json", contacts: contacts,
		start: "2026-03-09T08:00:00-04:00", days: 2, outcomes: "busy", config: cfg}, func(string) string { return "" }, &out, &bytes.Buffer{})
	require.NoError(t, err)
	require.Contains(t, out.String(), "1 calls per 24h (business)")
	require.Equal(t, 2, strings.Count(out.String(), `"type":"call"`), "one call a day over two days")

	err = runDryrun(t.Context(), dryrunFlags{cadence: "../../configs/cadences/five-step.json", contacts: contacts, days: 1,
		config: filepath.Join(dir, "missing.yaml")}, func(string) string { return "" }, &out, &bytes.Buffer{})
	require.ErrorContains(t, err, "--config")
}
