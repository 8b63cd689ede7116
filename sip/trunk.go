package sip

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"gopkg.in/yaml.v3"
)

// Transports a trunk can use.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"
	TransportTLS = "tls"
)

// Number formats for the Request-URI and To user part.
const (
	FormatE164     = "e164"     // +15551234567
	FormatNational = "national" // 5551234567 (national significant number)
)

// Codec names a trunk may offer.
const (
	CodecPCMU = "pcmu"
	CodecPCMA = "pcma"
)

// Trunk is one SIP trunk: where INVITEs go, how we authenticate, how numbers
// are written and how much load the carrier accepts. Secrets never live in
// the YAML: PasswordEnv names the environment variable that holds the
// password.
type Trunk struct {
	// Name identifies the trunk in call requests, metrics and logs.
	Name string `yaml:"name"`
	// Host is the carrier's SIP host name or IP address.
	Host string `yaml:"host"`
	// Port is the carrier's SIP port; 0 means 5060 (5061 for TLS).
	Port int `yaml:"port"`
	// Transport is udp (default), tcp or tls.
	Transport string `yaml:"transport"`
	// OutboundProxy (host:port), when set, receives every request instead of Host.
	OutboundProxy string `yaml:"outbound_proxy"`
	// Username for digest authentication (401/407); empty means no auth.
	Username string `yaml:"username"`
	// PasswordEnv is the NAME of the environment variable holding the password.
	PasswordEnv string `yaml:"password_env"`
	// Password is resolved from PasswordEnv at start (or set by AdHocTrunk);
	// it is never read from YAML.
	Password string `yaml:"-"`
	// FromDomain is the host part of our From URI; empty means Host.
	FromDomain string `yaml:"from_domain"`
	// NumberFormat is e164 (default) or national.
	NumberFormat string `yaml:"number_format"`
	// StripPrefix is removed from the formatted number when it starts with it.
	StripPrefix string `yaml:"strip_prefix"`
	// AddPrefix is put in front of the number after formatting and stripping.
	AddPrefix string `yaml:"add_prefix"`
	// Codecs offered, in order of preference: pcmu, pcma. Empty means both.
	Codecs []string `yaml:"codecs"`
	// MaxChannels caps concurrent calls on the trunk (0 = no cap); the
	// dialer's pacing enforces it, the driver only reports it.
	MaxChannels int `yaml:"max_channels"`
	// CPS caps new calls per second (0 = no cap); enforced by pacing.
	CPS float64 `yaml:"cps"`
	// RTPPortMin and RTPPortMax bound the local RTP ports (both 0 = any port).
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// MaxCallDuration caps an answered call (0 = 2h).
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
}

// FieldError is a configuration error that names the offending field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the trunk and returns every problem found, each naming its
// field (e.g. "port: must be 1..65535"). It does not look at the environment.
func (t Trunk) Validate() []error {
	var errs []error
	if strings.TrimSpace(t.Name) == "" {
		errs = append(errs, fieldErr("name", "must not be empty"))
	}
	if strings.TrimSpace(t.Host) == "" {
		errs = append(errs, fieldErr("host", "must not be empty"))
	} else if strings.ContainsAny(t.Host, " :;@/") && net.ParseIP(t.Host) == nil {
		errs = append(errs, fieldErr("host", "must be a host name or IP address without port, got %q", t.Host))
	}
	if t.Port < 0 || t.Port > 65535 {
		errs = append(errs, fieldErr("port", "must be 1..65535 (or 0 for the default), got %d", t.Port))
	}
	switch t.Transport {
	case "", TransportUDP, TransportTCP, TransportTLS:
	default:
		errs = append(errs, fieldErr("transport", "must be udp, tcp or tls, got %q", t.Transport))
	}
	if t.OutboundProxy != "" {
		if _, p, err := net.SplitHostPort(t.OutboundProxy); err != nil {
			errs = append(errs, fieldErr("outbound_proxy", "must be host:port: %v", err))
		} else if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fieldErr("outbound_proxy", "port must be 1..65535, got %q", p))
		}
	}
	if t.PasswordEnv != "" && t.Username == "" {
		errs = append(errs, fieldErr("username", "must be set when password_env is"))
	}
	if t.PasswordEnv != "" && !validEnvName(t.PasswordEnv) {
		errs = append(errs, fieldErr("password_env", "must be an environment variable name, got %q", t.PasswordEnv))
	}
	switch t.NumberFormat {
	case "", FormatE164, FormatNational:
	default:
		errs = append(errs, fieldErr("number_format", "must be e164 or national, got %q", t.NumberFormat))
	}
	for _, p := range []struct{ field, v string }{{"add_prefix", t.AddPrefix}, {"strip_prefix", t.StripPrefix}} {
		if strings.Trim(p.v, "+0123456789*#") != "" {
			errs = append(errs, fieldErr(p.field, "must hold only digits, +, * and #, got %q", p.v))
		}
	}
	seen := map[string]bool{}
	for i, c := range t.Codecs {
		switch c {
		case CodecPCMU, CodecPCMA:
		default:
			errs = append(errs, fieldErr(fmt.Sprintf("codecs[%d]", i), "must be pcmu or pcma, got %q", c))
		}
		if seen[c] {
			errs = append(errs, fieldErr(fmt.Sprintf("codecs[%d]", i), "duplicate codec %q", c))
		}
		seen[c] = true
	}
	if t.MaxChannels < 0 {
		errs = append(errs, fieldErr("max_channels", "must be ≥ 0, got %d", t.MaxChannels))
	}
	if t.CPS < 0 {
		errs = append(errs, fieldErr("cps", "must be ≥ 0, got %g", t.CPS))
	}
	if t.RTPPortMin != 0 || t.RTPPortMax != 0 {
		if t.RTPPortMin < 1024 || t.RTPPortMin > 65534 {
			errs = append(errs, fieldErr("rtp_port_min", "must be 1024..65534, got %d", t.RTPPortMin))
		}
		if t.RTPPortMax < 1025 || t.RTPPortMax > 65535 {
			errs = append(errs, fieldErr("rtp_port_max", "must be 1025..65535, got %d", t.RTPPortMax))
		}
		if t.RTPPortMax <= t.RTPPortMin {
			errs = append(errs, fieldErr("rtp_port_max", "must be greater than rtp_port_min (%d), got %d", t.RTPPortMin, t.RTPPortMax))
		}
	}
	if t.MaxCallDuration < 0 {
		errs = append(errs, fieldErr("max_call_duration", "must be ≥ 0, got %s", t.MaxCallDuration))
	}
	return errs
}

func validEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// ValidateTrunks validates a list of trunks as found under a `trunks:` key:
// each error names the field with its index ("trunks[1].port: …"), and trunk
// names must be unique.
func ValidateTrunks(trunks []Trunk) []error {
	var errs []error
	names := map[string]int{}
	for i, t := range trunks {
		prefix := fmt.Sprintf("trunks[%d].", i)
		for _, err := range t.Validate() {
			var fe *FieldError
			if errors.As(err, &fe) {
				errs = append(errs, &FieldError{Field: prefix + fe.Field, Msg: fe.Msg})
				continue
			}
			errs = append(errs, fmt.Errorf("%s%w", prefix, err))
		}
		if j, dup := names[t.Name]; dup && t.Name != "" {
			errs = append(errs, fieldErr(prefix+"name", "duplicate of trunks[%d].name %q", j, t.Name))
		}
		names[t.Name] = i
	}
	return errs
}

// TrunksFile is the document shape of configs/trunks.yaml.
type TrunksFile struct {
	Trunks []Trunk `yaml:"trunks"`
}

// LoadTrunks reads a trunks document strictly (unknown keys are errors) and
// validates it. It does not resolve passwords; the driver does that at start.
func LoadTrunks(r io.Reader) ([]Trunk, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var f TrunksFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode trunks: %w", err)
	}
	if errs := ValidateTrunks(f.Trunks); len(errs) > 0 {
		return nil, fmt.Errorf("invalid trunks: %w", errors.Join(errs...))
	}
	return f.Trunks, nil
}

// AdHocTrunk builds a trunk from a URI such as "sip:10.0.0.1:5060;transport=tcp"
// (used by `cadenza dial --trunk-uri`). username and password are optional
// digest credentials; from, when set, is the From domain (default: the host).
func AdHocTrunk(uri, username, password, from string) (Trunk, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(uri), "sip:")
	if !ok {
		if rest, ok = strings.CutPrefix(strings.TrimSpace(uri), "sips:"); !ok {
			return Trunk{}, fieldErr("trunk_uri", "must start with sip: or sips:, got %q", uri)
		}
	}
	t := Trunk{Name: "adhoc", Username: username, Password: password, FromDomain: from}
	if strings.HasPrefix(uri, "sips:") {
		t.Transport = TransportTLS
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndex(hostport, "@"); at >= 0 {
		hostport = hostport[at+1:]
	}
	for _, p := range strings.Split(params, ";") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "transport") {
			t.Transport = strings.ToLower(v)
		}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	t.Host = strings.Trim(host, "[]")
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil {
			return Trunk{}, fieldErr("trunk_uri", "port must be a number, got %q", port)
		}
		t.Port = n
	}
	if errs := t.Validate(); len(errs) > 0 {
		return Trunk{}, fmt.Errorf("trunk_uri %q: %w", uri, errors.Join(errs...))
	}
	return t, nil
}

// transport returns the effective transport.
func (t Trunk) transport() string {
	if t.Transport == "" {
		return TransportUDP
	}
	return t.Transport
}

// port returns the effective port.
func (t Trunk) port() int {
	if t.Port != 0 {
		return t.Port
	}
	if t.transport() == TransportTLS {
		return 5061
	}
	return 5060
}

func (t Trunk) fromDomain() string {
	if t.FromDomain != "" {
		return t.FromDomain
	}
	return t.Host
}

func (t Trunk) maxCallDuration() time.Duration {
	if t.MaxCallDuration > 0 {
		return t.MaxCallDuration
	}
	return 2 * time.Hour
}

// codecs returns the RTP payload types to offer, in preference order.
func (t Trunk) codecs() []uint8 {
	if len(t.Codecs) == 0 {
		return []uint8{PayloadPCMU, PayloadPCMA}
	}
	out := make([]uint8, 0, len(t.Codecs))
	for _, c := range t.Codecs {
		switch c {
		case CodecPCMU:
			out = append(out, PayloadPCMU)
		case CodecPCMA:
			out = append(out, PayloadPCMA)
		}
	}
	return out
}

// FormatNumber applies the trunk's number rules to an E.164 number: the
// format (e164 keeps "+CC…", national keeps the national significant
// number), then strip_prefix, then add_prefix.
func (t Trunk) FormatNumber(e164 string) (string, error) {
	n := strings.TrimSpace(e164)
	if n == "" {
		return "", fieldErr("to", "must not be empty")
	}
	if t.NumberFormat == FormatNational {
		pn, err := phonenumbers.Parse(n, "US")
		if err != nil {
			return "", fieldErr("to", "cannot parse %q as a phone number: %v", e164, err)
		}
		n = phonenumbers.GetNationalSignificantNumber(pn)
	}
	if t.StripPrefix != "" {
		n = strings.TrimPrefix(n, t.StripPrefix)
	}
	n = t.AddPrefix + n
	if strings.Trim(n, "+0123456789*#") != "" {
		return "", fieldErr("to", "must hold only digits, +, * and #, got %q", e164)
	}
	return n, nil
}
