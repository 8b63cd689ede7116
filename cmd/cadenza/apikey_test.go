package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

// apikey create --agent binds a key of role agent to an existing agent,
// and apikey list shows the binding.
func TestAPIKeyCreateBoundToAgent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cmd.db")
	t.Setenv("CADENZA_DATABASE_URL", "sqlite:"+path)
	_, _, err := run(t, "migrate")
	require.NoError(t, err)

	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	ada, err := st.CreateAgent(ctx, engine.Agent{Name: "Ada", Destination: "PJSIP/ada"}, time.Now())
	require.NoError(t, err)
	require.NoError(t, st.Close())

	secret, info, err := run(t, "apikey", "create", "--role", "agent", "--name", "ada ui", "--agent", ada.ID)
	require.NoError(t, err)
	require.Regexp(t, `^cdz_\S{20,}\n$`, secret)
	require.Contains(t, info, `created agent key "ada ui"`)
	require.Contains(t, info, "bound to agent "+ada.ID)

	_, _, err = run(t, "apikey", "create", "--role", "manager", "--name", "x", "--agent", ada.ID)
	require.ErrorContains(t, err, "--agent: only a key of role agent")
	_, _, err = run(t, "apikey", "create", "--role", "agent", "--name", "x", "--agent", "nope")
	require.ErrorContains(t, err, "agent_id")
	_, _, err = run(t, "apikey", "create", "--role", "agent", "--name", "desk")
	require.NoError(t, err, "an unbound agent key is still allowed")

	out, _, err := run(t, "apikey", "list")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	var k struct {
		Name    string
		AgentID string `json:"agent_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &k))
	require.Equal(t, "ada ui", k.Name)
	require.Equal(t, ada.ID, k.AgentID)
	require.NotContains(t, lines[1], "agent_id", "an unbound key lists no agent")
}
