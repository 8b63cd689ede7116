package configs

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCadenceNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"five-step", "speed-to-lead"}, CadenceNames())
}

func TestCadence(t *testing.T) {
	t.Parallel()
	for _, name := range CadenceNames() {
		b, err := Cadence(name)
		require.NoError(t, err)
		onDisk, err := os.ReadFile("cadences/" + name + ".json")
		require.NoError(t, err)
		require.Equal(t, onDisk, b)
		var doc struct {
			Format  string          `json:"format"`
			Cadence json.RawMessage `json:"cadence"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		require.Equal(t, "cadenza.cadence/v1", doc.Format)
		require.NotEmpty(t, doc.Cadence)

		withExt, err := Cadence(name + ".json")
		require.NoError(t, err)
		require.Equal(t, b, withExt)
	}
	for _, bad := range []string{"", "nope", "../configs/cadences/five-step", "cadences/five-step", ".json"} {
		_, err := Cadence(bad)
		require.Error(t, err, bad)
	}
}
