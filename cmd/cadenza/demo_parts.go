package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/configs"
	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
)

// demoContact is one row of configs/demo/contacts.csv.
type demoContact struct {
	Phone, FirstName, LastName, State string
	Cadence                           string // example cadence name
	Note                              string // "dnc", "invalid", "florida" or ""
}

// loadDemoContacts reads the embedded contacts; n > 0 keeps the first n.
func loadDemoContacts(n int) ([]demoContact, error) {
	b, err := configs.DemoFile("contacts.csv")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("demo contacts: %w", err)
	}
	if len(rows) < 2 {
		return nil, errors.New("demo contacts: no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"phone", "first_name", "last_name", "state", "cadence", "note"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("demo contacts: header: %s column missing", h)
		}
	}
	rows = rows[1:]
	if n > len(rows) {
		return nil, fmt.Errorf("--contacts: the demo has %d contacts, asked for %d", len(rows), n)
	}
	if n > 0 {
		rows = rows[:n]
	}
	out := make([]demoContact, 0, len(rows))
	for _, r := range rows {
		out = append(out, demoContact{Phone: r[col["phone"]], FirstName: r[col["first_name"]], LastName: r[col["last_name"]],
			State: r[col["state"]], Cadence: r[col["cadence"]], Note: r[col["note"]]})
	}
	return out, nil
}

// loadDemoAsset decodes an embedded WAV into an engine asset (8 kHz 16-bit
// mono little-endian PCM).
func loadDemoAsset(name string) (engine.Asset, error) {
	b, err := configs.DemoFile(name + ".wav")
	if err != nil {
		return engine.Asset{}, err
	}
	pcm, err := audio.DecodeWAV(bytes.NewReader(b))
	if err != nil {
		return engine.Asset{}, fmt.Errorf("demo asset %s: %w", name, err)
	}
	raw := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	return engine.Asset{Name: name, DurationMS: int64(len(pcm)) / 8, PCM: raw}, nil
}

// demoDialer is the real dialer as the engine sees it, reporting every
// call to the tally.
type demoDialer struct {
	d     *dialer.Dialer
	tally *demoTally
}

// Dial places the call.
func (dd *demoDialer) Dial(ctx context.Context, c dialer.Call) dialer.Outcome {
	dd.tally.dialStarted()
	out := dd.d.Dial(ctx, c)
	dd.tally.dialEnded(c.ID, out)
	return out
}

// demoSMS is the demo's messenger: an in-process SMS log, no carrier.
type demoSMS struct {
	now func() time.Time
	mu  sync.Mutex
	log []demoText
}

type demoText struct {
	At       time.Time
	To, Text string
}

// Send records the message.
func (m *demoSMS) Send(_ context.Context, to, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = append(m.log, demoText{At: m.now(), To: to, Text: text})
	return nil
}

// texts returns the messages sent so far.
func (m *demoSMS) texts() []demoText {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]demoText(nil), m.log...)
}

// writeDemoSMS lists the texts sent, for --verbose.
func writeDemoSMS(w io.Writer, m *demoSMS) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.log {
		fmt.Fprintf(w, "  sms %s %s: %s\n", t.At.In(demoBusinessZone()).Format("Mon 15:04"), t.To, strings.TrimSpace(t.Text))
	}
}
