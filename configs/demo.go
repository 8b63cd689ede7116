package configs

import (
	"embed"
	"fmt"
)

// demoFiles are the demo's contacts, caller-ID pools and voicemail
// messages, embedded so that `cadenza demo` runs from any directory.
//
//go:embed demo/contacts.csv demo/callerid-pools.yaml demo/*.wav
var demoFiles embed.FS

// DemoFile returns one of the demo's embedded files: "contacts.csv",
// "callerid-pools.yaml", "vm-intro.wav" or "vm-final.wav".
func DemoFile(name string) ([]byte, error) {
	b, err := demoFiles.ReadFile("demo/" + name)
	if err != nil {
		return nil, fmt.Errorf("demo file %q: not found", name)
	}
	return b, nil
}
