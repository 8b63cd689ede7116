package configs

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDemoFile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"contacts.csv", "callerid-pools.yaml", "vm-intro.wav", "vm-final.wav"} {
		b, err := DemoFile(name)
		require.NoError(t, err, name)
		onDisk, err := os.ReadFile("demo/" + name)
		require.NoError(t, err)
		require.Equal(t, onDisk, b, name)
	}
	for _, bad := range []string{"", "nope.csv", "../embed.go", "gen.sh"} {
		_, err := DemoFile(bad)
		require.Error(t, err, bad)
	}
}
