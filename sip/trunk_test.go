package sip_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cadenza-dialer/cadenza/sip"
	"github.com/stretchr/testify/require"
)

func TestLoadExampleTrunks(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../configs/trunks.yaml")
	require.NoError(t, err)
	defer f.Close()
	trunks, err := sip.LoadTrunks(f)
	require.NoError(t, err)
	require.Len(t, trunks, 3)
	a := trunks[0]
	require.Equal(t, "carrier-a", a.Name)
	require.Equal(t, "CADENZA_TRUNK_CARRIER_A_PASSWORD", a.PasswordEnv)
	require.Empty(t, a.Password, "passwords never come from YAML")
	require.Equal(t, []string{"pcmu", "pcma"}, a.Codecs)
	require.Equal(t, 2*time.Hour, a.MaxCallDuration)
	require.Equal(t, 20000, a.RTPPortMin)
	require.Equal(t, "tls", trunks[1].Transport)
	require.Equal(t, "proxy.carrier-b.example:5061", trunks[1].OutboundProxy)
}

func TestLoadTrunksStrict(t *testing.T) {
	t.Parallel()
	_, err := sip.LoadTrunks(strings.NewReader("trunks:\n  - name: a\n    host: h\n    pasword_env: X\n"))
	require.ErrorContains(t, err, "pasword_env")
	_, err = sip.LoadTrunks(strings.NewReader("trunks:\n  - name: a\n    host: h\n    password: secret\n"))
	require.ErrorContains(t, err, "field password not found", "a password in YAML is refused")
}

func TestTrunkValidate(t *testing.T) {
	t.Parallel()
	ok := sip.Trunk{Name: "a", Host: "sip.example.com"}
	tests := []struct {
		name string
		mod  func(*sip.Trunk)
		want string // "" = valid
	}{
		{"minimal", func(*sip.Trunk) {}, ""},
		{"no name", func(t *sip.Trunk) { t.Name = "" }, "trunks[1].name: must not be empty"},
		{"no host", func(t *sip.Trunk) { t.Host = "" }, "trunks[1].host: must not be empty"},
		{"host with port", func(t *sip.Trunk) { t.Host = "h:5060" }, "trunks[1].host: must be a host name"},
		{"port", func(t *sip.Trunk) { t.Port = 70000 }, "trunks[1].port: must be 1..65535"},
		{"negative port", func(t *sip.Trunk) { t.Port = -1 }, "trunks[1].port: must be 1..65535"},
		{"transport", func(t *sip.Trunk) { t.Transport = "sctp" }, "trunks[1].transport: must be udp, tcp or tls"},
		{"proxy", func(t *sip.Trunk) { t.OutboundProxy = "proxy" }, "trunks[1].outbound_proxy: must be host:port"},
		{"proxy port", func(t *sip.Trunk) { t.OutboundProxy = "proxy:0" }, "trunks[1].outbound_proxy: port must be 1..65535"},
		{"password without user", func(t *sip.Trunk) { t.PasswordEnv = "PW" }, "trunks[1].username: must be set when password_env is"},
		{"env name", func(t *sip.Trunk) { t.Username, t.PasswordEnv = "u", "1BAD-NAME" }, "trunks[1].password_env: must be an environment variable name"},
		{"format", func(t *sip.Trunk) { t.NumberFormat = "intl" }, "trunks[1].number_format: must be e164 or national"},
		{"prefix", func(t *sip.Trunk) { t.AddPrefix = "abc" }, "trunks[1].add_prefix: must hold only digits"},
		{"strip", func(t *sip.Trunk) { t.StripPrefix = "x" }, "trunks[1].strip_prefix: must hold only digits"},
		{"codec", func(t *sip.Trunk) { t.Codecs = []string{"pcmu", "opus"} }, "trunks[1].codecs[1]: must be pcmu or pcma"},
		{"codec twice", func(t *sip.Trunk) { t.Codecs = []string{"pcmu", "pcmu"} }, "trunks[1].codecs[1]: duplicate codec"},
		{"channels", func(t *sip.Trunk) { t.MaxChannels = -1 }, "trunks[1].max_channels: must be ≥ 0"},
		{"cps", func(t *sip.Trunk) { t.CPS = -2 }, "trunks[1].cps: must be ≥ 0"},
		{"rtp range low", func(t *sip.Trunk) { t.RTPPortMin, t.RTPPortMax = 80, 2000 }, "trunks[1].rtp_port_min: must be 1024..65534"},
		{"rtp range order", func(t *sip.Trunk) { t.RTPPortMin, t.RTPPortMax = 20000, 10000 }, "trunks[1].rtp_port_max: must be greater than rtp_port_min"},
		{"duration", func(t *sip.Trunk) { t.MaxCallDuration = -time.Second }, "trunks[1].max_call_duration: must be ≥ 0"},
		{"duplicate name", func(t *sip.Trunk) { t.Name = "first" }, "trunks[1].name: duplicate of trunks[0].name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := ok
			tc.mod(&tr)
			errs := sip.ValidateTrunks([]sip.Trunk{{Name: "first", Host: "h"}, tr})
			if tc.want == "" {
				require.Empty(t, errs)
				return
			}
			require.NotEmpty(t, errs)
			require.ErrorContains(t, errs[0], tc.want)
		})
	}
}

func TestAdHocTrunk(t *testing.T) {
	t.Parallel()
	tr, err := sip.AdHocTrunk("sip:127.0.0.1:5070", "", "", "")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", tr.Host)
	require.Equal(t, 5070, tr.Port)
	require.Equal(t, "adhoc", tr.Name)
	tr, err = sip.AdHocTrunk("sip:carrier.example;transport=TCP", "u", "p", "me.example")
	require.NoError(t, err)
	require.Equal(t, "tcp", tr.Transport)
	require.Equal(t, "carrier.example", tr.Host)
	require.Equal(t, "p", tr.Password)
	require.Equal(t, "me.example", tr.FromDomain)
	tr, err = sip.AdHocTrunk("sips:[::1]:5061", "", "", "")
	require.NoError(t, err)
	require.Equal(t, "tls", tr.Transport)
	require.Equal(t, "::1", tr.Host)
	for _, bad := range []string{"http://x", "sip:host:99999", "sip:host;transport=sctp", "sip:", "sip:host:port"} {
		_, err := sip.AdHocTrunk(bad, "", "", "")
		require.Error(t, err, bad)
	}
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		trunk sip.Trunk
		in    string
		want  string
	}{
		{sip.Trunk{}, "+15551234567", "+15551234567"},
		{sip.Trunk{NumberFormat: "national"}, "+15551234567", "5551234567"},
		{sip.Trunk{NumberFormat: "national"}, "+442071234567", "2071234567"},
		{sip.Trunk{StripPrefix: "+"}, "+15551234567", "15551234567"},
		{sip.Trunk{StripPrefix: "+1", AddPrefix: "9#"}, "+15551234567", "9#5551234567"},
	}
	for _, tc := range tests {
		got, err := tc.trunk.FormatNumber(tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := sip.Trunk{}.FormatNumber("")
	require.ErrorContains(t, err, "to: must not be empty")
	_, err = sip.Trunk{}.FormatNumber("+1555;x")
	require.Error(t, err)
}
