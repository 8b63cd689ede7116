package ari

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// asteriskConf is a parsed Asterisk .conf: section name → key → values. A
// name that appears twice (PJSIP allows an endpoint and an aor to share one)
// merges.
type asteriskConf map[string]map[string][]string

func parseAsteriskConf(t *testing.T, name string) asteriskConf {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "asterisk", name))
	require.NoError(t, err)
	defer f.Close()
	conf := asteriskConf{}
	section := ""
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(text, ';'); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "[") {
			end := strings.IndexByte(text, ']')
			require.Positive(t, end, "%s:%d: unterminated section", name, line)
			section = text[1:end]
			if conf[section] == nil {
				conf[section] = map[string][]string{}
			}
			// [name](!) is a template; [name](tmpl) inherits tmpl's settings.
			if opts, ok := strings.CutPrefix(text[end+1:], "("); ok {
				for _, tmpl := range strings.Split(strings.TrimSuffix(opts, ")"), ",") {
					if tmpl = strings.TrimSpace(tmpl); tmpl == "!" {
						continue
					}
					base, ok := conf[tmpl]
					require.True(t, ok, "%s:%d: unknown template %q", name, line, tmpl)
					for k, v := range base {
						conf[section][k] = append(conf[section][k], v...)
					}
				}
			}
			continue
		}
		require.NotEmpty(t, section, "%s:%d: setting outside a section", name, line)
		key, val, ok := strings.Cut(text, "=>")
		if !ok {
			key, val, ok = strings.Cut(text, "=")
		}
		require.True(t, ok, "%s:%d: %q is not key = value", name, line, text)
		key = strings.TrimSpace(key)
		conf[section][key] = append(conf[section][key], strings.TrimSpace(val))
	}
	require.NoError(t, sc.Err())
	return conf
}

// The shipped Asterisk configuration has what the driver depends on: ARI on
// loopback with a user, the modules externalMedia and bridges need, a PJSIP
// trunk matching the example endpoint template, and an RTP range.
func TestDeployAsteriskConfig(t *testing.T) {
	t.Parallel()
	httpConf := parseAsteriskConf(t, "http.conf")
	require.Equal(t, []string{"yes"}, httpConf["general"]["enabled"])
	require.Equal(t, []string{"127.0.0.1"}, httpConf["general"]["bindaddr"], "plain ARI stays on loopback")

	ari := parseAsteriskConf(t, "ari.conf")
	require.Equal(t, []string{"yes"}, ari["general"]["enabled"])
	require.Equal(t, []string{"user"}, ari["cadenza"]["type"])
	require.Equal(t, []string{"no"}, ari["cadenza"]["read_only"])
	require.NotEmpty(t, ari["cadenza"]["password"])

	mods := parseAsteriskConf(t, "modules.conf")
	required := strings.Join(mods["modules"]["require"], " ")
	for _, m := range []string{"res_ari.so", "res_ari_channels.so", "res_ari_bridges.so", "res_ari_events.so", "res_http_websocket.so", "res_stasis.so", "chan_rtp.so", "bridge_softmix.so", "chan_pjsip.so", "codec_ulaw.so"} {
		require.Contains(t, required, m)
	}

	pjsip := parseAsteriskConf(t, "pjsip.conf")
	carrier := pjsip["carrier"]
	require.NotNil(t, carrier, "the endpoint the example template PJSIP/{number}@carrier names")
	require.Contains(t, carrier["type"], "endpoint")
	require.Contains(t, carrier["type"], "aor")
	require.Equal(t, []string{"carrier-auth"}, carrier["outbound_auth"])
	require.Equal(t, []string{"auth"}, pjsip["carrier-auth"]["type"])
	require.Equal(t, []string{"transport"}, pjsip["transport-udp"]["type"])

	ext := parseAsteriskConf(t, "extensions.conf")
	require.Contains(t, ext, "from-carrier", "the context the trunk's endpoint names")
	require.Equal(t, []string{"from-carrier"}, pjsip["trunk-endpoint"]["context"])

	rtp := parseAsteriskConf(t, "rtp.conf")
	require.Equal(t, []string{"10000"}, rtp["general"]["rtpstart"])
	require.Equal(t, []string{"20000"}, rtp["general"]["rtpend"])
}
