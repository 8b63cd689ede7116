package config

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/sip"
)

// Trunk drivers.
const (
	TrunkSIP = "sip"
	TrunkARI = "ari"
)

// Trunk is one way out to the phone network: a native SIP trunk (the sip
// package's settings, inline) or an Asterisk endpoint reached through ARI.
type Trunk struct {
	// Driver is sip (default: Cadenza speaks SIP to the carrier itself) or
	// ari (Asterisk places the call on one of its PJSIP trunks).
	Driver string `yaml:"driver"`
	// Endpoint is the ARI dial string with {number}, e.g.
	// "PJSIP/{number}@carrier" (driver ari only).
	Endpoint string `yaml:"endpoint"`
	// StripPlus dials ARI endpoints without the leading "+" (driver ari only).
	StripPlus bool `yaml:"strip_plus"`
	// The SIP trunk settings: name, host, port, transport, auth, number
	// format, codecs, max_channels, cps, RTP ports (see configs/trunks.yaml).
	// For ari trunks only name, max_channels and cps apply.
	sip.Trunk `yaml:",inline"`
}

// Dialer tunes how this node places cadence calls.
type Dialer struct {
	// DefaultTrunk is the trunk cadence calls go out on; default the first
	// trunk listed.
	DefaultTrunk string `yaml:"default_trunk"`
	// Concurrency caps the cadence actions this node runs at once (calls in
	// flight included). Default 50.
	Concurrency int `yaml:"concurrency"`
	// SIPListen is the local address of the native SIP driver, host:port;
	// default the address that routes to the first SIP trunk, any port.
	SIPListen string `yaml:"sip_listen"`
	// AdvertiseIP goes into Contact and SDP when behind NAT (required when
	// sip_listen is a wildcard address).
	AdvertiseIP string `yaml:"advertise_ip"`
	// SafeHarborAsset names the uploaded audio asset (POST /v1/assets)
	// played when a person answers and no agent can take the call within
	// 2 s: the law wants a recorded message with the seller's name, a
	// callback number and how to opt out before the call is dropped.
	SafeHarborAsset string `yaml:"safe_harbor_asset"`
}

// Pacing holds caps across every trunk.
type Pacing struct {
	// CPS caps new calls per second over all trunks; 0 is no global cap.
	CPS float64 `yaml:"cps"`
	// MaxChannels caps concurrent calls over all trunks; 0 is no global cap.
	MaxChannels int `yaml:"max_channels"`
}

// ARI is the connection to Asterisk for trunks with driver ari.
type ARI struct {
	// URL is ARI's base, e.g. http://127.0.0.1:8088/ari (https for remote).
	URL string `yaml:"url"`
	// Username is the ari.conf user.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the ARI password
	// (default CADENZA_ARI_PASSWORD). Password is filled from it at load.
	PasswordEnv string `yaml:"password_env"`
	Password    string `yaml:"-"`
	// App is the Stasis application Cadenza registers. Default cadenza.
	App string `yaml:"app"`
	// MediaHost is this host's IP as Asterisk reaches it, for externalMedia
	// RTP. Default 127.0.0.1.
	MediaHost string `yaml:"media_host"`
	// RTPPortMin and RTPPortMax bound our externalMedia RTP ports; 0: any.
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// AgentEndpoint is the PJSIP endpoint through which a sip: agent URI is
	// dialed when a human answer is connected (PJSIP/<endpoint>/<uri>);
	// Asterisk dial strings such as PJSIP/agent-1 need none.
	AgentEndpoint string `yaml:"agent_endpoint"`
}

// Trigger is one webhook enrollment.
type Trigger struct {
	// Key is the last path segment of POST /v1/triggers/{key}.
	Key string `yaml:"key"`
	// CadenceID is the cadence posted contacts enroll into.
	CadenceID string `yaml:"cadence_id"`
	// SecretEnv names the environment variable holding the shared secret
	// (sent as X-Cadenza-Trigger-Secret, or the HMAC-SHA256 key of
	// X-Cadenza-Signature). Secret is filled from it at load.
	SecretEnv string `yaml:"secret_env"`
	Secret    string `yaml:"-"`
}

// resolveSecrets fills passwords from the environment. A trunk whose
// password variable is unset is reported when the trunk is used, not here,
// so one unconfigured trunk does not stop `cadenza dial` on another.
func (c *Config) resolveSecrets(getenv func(string) string) {
	for i := range c.Trunks {
		if env := c.Trunks[i].PasswordEnv; env != "" {
			c.Trunks[i].Password = getenv(env)
		}
	}
	for i := range c.Triggers {
		if env := c.Triggers[i].SecretEnv; env != "" {
			c.Triggers[i].Secret = getenv(env)
		}
	}
	c.SMS.resolveSecrets(getenv)
	if c.ARI.URL != "" {
		if c.ARI.PasswordEnv == "" {
			c.ARI.PasswordEnv = "CADENZA_ARI_PASSWORD"
		}
		c.ARI.Password = getenv(c.ARI.PasswordEnv)
		if c.ARI.App == "" {
			c.ARI.App = "cadenza"
		}
		if c.ARI.MediaHost == "" {
			c.ARI.MediaHost = "127.0.0.1"
		}
	}
}

// validateDialer checks trunks, pools, pacing and ARI.
func (c *Config) validateDialer() Errors {
	var errs Errors
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	names := map[string]bool{}
	var sipTrunks []sip.Trunk
	for i, t := range c.Trunks {
		p := fmt.Sprintf("trunks[%d]", i)
		switch t.Driver {
		case "", TrunkSIP:
			c.Trunks[i].Driver = TrunkSIP
			if t.Endpoint != "" {
				add("%s.endpoint: only for driver ari", p)
			}
			sipTrunks = append(sipTrunks, t.Trunk)
		case TrunkARI:
			if t.Name == "" {
				add("%s.name: required", p)
			}
			if !strings.Contains(t.Endpoint, "{number}") || !strings.Contains(t.Endpoint, "/") {
				add("%s.endpoint: %q must be an Asterisk dial string with {number}, e.g. PJSIP/{number}@carrier", p, t.Endpoint)
			}
			if t.Host != "" {
				add("%s.host: not used by driver ari (Asterisk's pjsip.conf names the carrier)", p)
			}
			if c.ARI.URL == "" {
				add("%s.driver: ari needs the ari section (url, username)", p)
			}
			if t.MaxChannels < 0 || t.CPS < 0 {
				add("%s: max_channels and cps must be ≥ 0", p)
			}
		default:
			add("%s.driver: %q must be sip or ari", p, t.Driver)
		}
		if t.Name != "" && names[t.Name] {
			add("%s.name: duplicate trunk %q", p, t.Name)
		}
		names[t.Name] = true
	}
	// The sip package names fields relative to its own list: re-base them.
	if len(sipTrunks) > 0 {
		idx := 0
		byPos := map[int]int{}
		for i, t := range c.Trunks {
			if t.Driver == TrunkSIP {
				byPos[idx] = i
				idx++
			}
		}
		for _, err := range sip.ValidateTrunks(sipTrunks) {
			msg := err.Error()
			var n int
			if _, scanErr := fmt.Sscanf(msg, "trunks[%d]", &n); scanErr == nil {
				msg = fmt.Sprintf("trunks[%d]", byPos[n]) + msg[strings.IndexByte(msg, ']')+1:]
			} else if !strings.HasPrefix(msg, "trunks") {
				msg = "trunks: " + msg
			}
			if !strings.Contains(msg, "duplicate") {
				errs = append(errs, msg)
			}
		}
	}
	if err := callerid.ValidatePools(c.Pools); err != nil {
		for _, e := range splitJoined(err) {
			errs = append(errs, e)
		}
	}
	if c.Dialer.DefaultTrunk != "" {
		if _, ok := c.Trunk(c.Dialer.DefaultTrunk); !ok {
			add("dialer.default_trunk: no trunk named %q", c.Dialer.DefaultTrunk)
		}
	}
	if c.Dialer.Concurrency < 0 {
		add("dialer.concurrency: must be ≥ 0")
	}
	if c.Dialer.SIPListen != "" {
		if _, _, err := net.SplitHostPort(c.Dialer.SIPListen); err != nil {
			add("dialer.sip_listen: %q is not host:port", c.Dialer.SIPListen)
		}
	}
	if c.Dialer.AdvertiseIP != "" && net.ParseIP(c.Dialer.AdvertiseIP) == nil {
		add("dialer.advertise_ip: %q is not an IP address", c.Dialer.AdvertiseIP)
	}
	for i, t := range c.Triggers {
		p := fmt.Sprintf("triggers[%d]", i)
		if t.Key == "" || strings.ContainsAny(t.Key, "/?#% ") {
			add("%s.key: %q must be a non-empty URL path segment", p, t.Key)
		}
		if t.CadenceID == "" {
			add("%s.cadence_id: required", p)
		}
		switch {
		case t.SecretEnv == "":
			add("%s.secret_env: required (the secret comes from the environment)", p)
		case len(t.Secret) < 16:
			add("%s.secret_env: %s must hold a secret of at least 16 characters", p, t.SecretEnv)
		}
	}
	if c.Pacing.CPS < 0 {
		add("pacing.cps: must be ≥ 0")
	}
	if c.Pacing.MaxChannels < 0 {
		add("pacing.max_channels: must be ≥ 0")
	}
	if c.ARI.URL != "" {
		if !strings.HasPrefix(c.ARI.URL, "http://") && !strings.HasPrefix(c.ARI.URL, "https://") {
			add("ari.url: %q must be http(s)://host:port/ari", c.ARI.URL)
		}
		if c.ARI.Username == "" {
			add("ari.username: required")
		}
		if net.ParseIP(c.ARI.MediaHost) == nil {
			add("ari.media_host: %q is not an IP address", c.ARI.MediaHost)
		}
	}
	return errs
}

// splitJoined flattens an errors.Join tree into messages.
func splitJoined(err error) []string {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// Trunk returns the named trunk.
func (c *Config) Trunk(name string) (Trunk, bool) {
	for _, t := range c.Trunks {
		if t.Name == name {
			return t, true
		}
	}
	return Trunk{}, false
}

// TrunkPassword checks that a trunk that names a password variable has it
// set; call it for the trunks actually used.
func (t Trunk) CheckPassword() error {
	if t.PasswordEnv != "" && t.Password == "" {
		return fmt.Errorf("trunk %s: environment variable %s (password_env) is not set", t.Name, t.PasswordEnv)
	}
	return nil
}
