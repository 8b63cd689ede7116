package callerid

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// Strategies (the same names as dialer.CallerIDStrategy and cadence steps).
const (
	Random        = "random"
	Rotating      = "rotating"
	LocalPresence = "local_presence"
	Sticky        = "sticky"
	Fixed         = "fixed"
)

// Strategies lists every strategy, in a stable order.
func Strategies() []string {
	return []string{Random, Rotating, LocalPresence, Sticky, Fixed}
}

func validStrategy(s string) bool {
	for _, v := range Strategies() {
		if s == v {
			return true
		}
	}
	return false
}

// Caps limit how often one number is used. Zero means no limit. Windows are
// fixed: the calendar minute and hour (UTC) and the calendar day in the
// pool's time zone.
type Caps struct {
	// DailyCap is the most calls a number places per day.
	DailyCap int `yaml:"daily_cap,omitempty"`
	// PerMinute is the most calls a number places per calendar minute.
	PerMinute int `yaml:"per_minute,omitempty"`
	// PerHour is the most calls a number places per calendar hour.
	PerHour int `yaml:"per_hour,omitempty"`
	// Cooldown is the least time between two calls from a number ("30s").
	Cooldown time.Duration `yaml:"cooldown,omitempty"`
}

// over returns c with every zero field taken from base: a number's own caps
// override its pool's.
func (c Caps) over(base Caps) Caps {
	if c.DailyCap == 0 {
		c.DailyCap = base.DailyCap
	}
	if c.PerMinute == 0 {
		c.PerMinute = base.PerMinute
	}
	if c.PerHour == 0 {
		c.PerHour = base.PerHour
	}
	if c.Cooldown == 0 {
		c.Cooldown = base.Cooldown
	}
	return c
}

func (c Caps) validate(path string) error {
	switch {
	case c.DailyCap < 0:
		return fmt.Errorf("%sdaily_cap: must be ≥ 0, got %d", path, c.DailyCap)
	case c.PerMinute < 0:
		return fmt.Errorf("%sper_minute: must be ≥ 0, got %d", path, c.PerMinute)
	case c.PerHour < 0:
		return fmt.Errorf("%sper_hour: must be ≥ 0, got %d", path, c.PerHour)
	case c.Cooldown < 0:
		return fmt.Errorf("%scooldown: must be ≥ 0, got %v", path, c.Cooldown)
	}
	return nil
}

// Number is one caller ID of a pool.
type Number struct {
	// E164 is the number, e.g. "+14155550100".
	E164 string `yaml:"e164"`
	// State is the USPS code of the state the number presents as local to;
	// empty means the state of its area code.
	State string `yaml:"state,omitempty"`
	// Caps override the pool's caps for this number (zero fields inherit).
	Caps `yaml:",inline"`
}

// PoolConfig is one caller-ID pool as configured in YAML
// (configs/callerid-pools.yaml).
type PoolConfig struct {
	// Name identifies the pool in cadence steps and the API.
	Name string `yaml:"name"`
	// Strategy is used when a request names none (default rotating).
	Strategy string `yaml:"strategy,omitempty"`
	// TimeZone is the IANA zone whose calendar day the daily cap counts
	// (default UTC).
	TimeZone string `yaml:"time_zone,omitempty"`
	// Caps apply to every number of the pool unless the number overrides.
	Caps `yaml:",inline"`
	// Numbers are the pool's caller IDs.
	Numbers []Number `yaml:"numbers"`
}

var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidE164 reports whether s is an E.164 number ("+" and 7 to 15 digits).
func ValidE164(s string) bool { return e164RE.MatchString(s) }

// ValidatePools checks pools and names the first bad field, e.g.
// `pools[1].numbers[3].e164: "+1555" is not an E.164 number`.
func ValidatePools(pools []PoolConfig) error {
	names := map[string]bool{}
	for i, p := range pools {
		path := fmt.Sprintf("pools[%d].", i)
		switch {
		case p.Name == "":
			return fmt.Errorf("%sname: required", path)
		case names[p.Name]:
			return fmt.Errorf("%sname: duplicate pool %q", path, p.Name)
		case p.Strategy != "" && !validStrategy(p.Strategy):
			return fmt.Errorf("%sstrategy: %q is not one of %v", path, p.Strategy, Strategies())
		case len(p.Numbers) == 0:
			return fmt.Errorf("%snumbers: a pool needs at least one number", path)
		}
		names[p.Name] = true
		if p.TimeZone != "" {
			if _, err := time.LoadLocation(p.TimeZone); err != nil {
				return fmt.Errorf("%stime_zone: %w", path, err)
			}
		}
		if err := p.Caps.validate(path); err != nil {
			return err
		}
		seen := map[string]bool{}
		for j, n := range p.Numbers {
			np := fmt.Sprintf("%snumbers[%d].", path, j)
			switch {
			case !ValidE164(n.E164):
				return fmt.Errorf("%se164: %q is not an E.164 number", np, n.E164)
			case seen[n.E164]:
				return fmt.Errorf("%se164: %s is listed twice", np, n.E164)
			case n.State != "" && !knownState(n.State):
				return fmt.Errorf("%sstate: %q is not a US state or territory code", np, n.State)
			}
			seen[n.E164] = true
			if err := n.Caps.validate(np); err != nil {
				return err
			}
		}
	}
	return nil
}

// PoolsFile is the shape of configs/callerid-pools.yaml.
type PoolsFile struct {
	Pools []PoolConfig `yaml:"pools"`
}

// DecodePools reads a PoolsFile strictly (unknown keys are errors, with
// their line) and validates it.
func DecodePools(r io.Reader) ([]PoolConfig, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read caller-ID pools: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f PoolsFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("caller-ID pools: empty document")
		}
		return nil, fmt.Errorf("caller-ID pools: %w", err)
	}
	if err := ValidatePools(f.Pools); err != nil {
		return nil, fmt.Errorf("caller-ID pools: %w", err)
	}
	return f.Pools, nil
}
