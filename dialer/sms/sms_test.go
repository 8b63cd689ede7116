package sms

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// twilioFake answers like Twilio's Messages API: it checks the path, the
// basic auth and the form, and answers with the status and body the test
// picked for the destination number.
type twilioFake struct {
	mu       sync.Mutex
	received []url.Values
	answers  map[string]func(w http.ResponseWriter) // by To
}

func (f *twilioFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || r.Method != http.MethodPost {
		http.Error(w, `{"code":20404,"message":"The requested resource was not found"}`, http.StatusNotFound)
		return
	}
	if !ok || user != "AC123" || pass != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.received = append(f.received, r.PostForm)
	answer := f.answers[r.PostForm.Get("To")]
	f.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": "SM1", "status": "queued", "to": r.PostForm.Get("To"), "body": r.PostForm.Get("Body")})
}

func twilioError(status, code int, msg string, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status})
	}
}

func newTwilio(t *testing.T) (*twilioFake, Config) {
	t.Helper()
	f := &twilioFake{answers: map[string]func(http.ResponseWriter){
		"+15550000001": twilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
		"+15550000002": twilioError(400, 21211, "The 'To' number +15550000002 is not a valid phone number."),
		"+15550000003": twilioError(429, 20429, "Too Many Requests", "Retry-After", "7"),
		"+15550000004": func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway); io.WriteString(w, "upstream down") },
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, Config{Provider: ProviderTwilio, BaseURL: srv.URL, AccountSID: "AC123", AuthToken: "secret", From: "+15557654321"}
}

func TestTwilioSendAndClassify(t *testing.T) {
	fake, cfg := newTwilio(t)
	reg := prometheus.NewRegistry()
	c, err := New(cfg, nil, reg)
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, c.Send(ctx, "+15551230000", "Hi Ana, call us back: 555-0100. Reply STOP to opt out."))
	require.Len(t, fake.received, 1)
	require.Equal(t, "+15551230000", fake.received[0].Get("To"))
	require.Equal(t, "+15557654321", fake.received[0].Get("From"))
	require.Contains(t, fake.received[0].Get("Body"), "Hi Ana")

	for _, tc := range []struct {
		to                string
		status, code      int
		optOut, temporary bool
		retryAfter        time.Duration
		messageContains   string
	}{
		{to: "+15550000001", status: 400, code: 21610, optOut: true, messageContains: "unsubscribed"},
		{to: "+15550000002", status: 400, code: 21211, messageContains: "not a valid phone number"},
		{to: "+15550000003", status: 429, code: 20429, temporary: true, retryAfter: 7 * time.Second},
		{to: "+15550000004", status: 502, temporary: true, messageContains: "upstream down"},
	} {
		t.Run(tc.to, func(t *testing.T) {
			err := c.Send(ctx, tc.to, "hello")
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.status, e.Status)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.optOut, e.OptOut())
			require.Equal(t, tc.temporary, e.Temporary)
			require.Equal(t, tc.retryAfter, e.RetryAfter)
			require.Contains(t, e.Error(), tc.messageContains)
		})
	}
	require.Equal(t, 1.0, testutil.ToFloat64(c.sent.WithLabelValues("sent")))
	require.Equal(t, 1.0, testutil.ToFloat64(c.sent.WithLabelValues("opt_out")))
	require.Equal(t, 1.0, testutil.ToFloat64(c.sent.WithLabelValues("rejected")))
	require.Equal(t, 2.0, testutil.ToFloat64(c.sent.WithLabelValues("temporary")))
}

func TestTwilioWrongTokenIsPermanent(t *testing.T) {
	_, cfg := newTwilio(t)
	cfg.AuthToken = "wrong"
	c, err := New(cfg, nil, nil)
	require.NoError(t, err)
	var e *Error
	require.ErrorAs(t, c.Send(context.Background(), "+15551230000", "hi"), &e)
	require.Equal(t, 401, e.Status)
	require.Equal(t, 20003, e.Code)
	require.False(t, e.Temporary)
}

func TestMessagingServiceInsteadOfFrom(t *testing.T) {
	fake, cfg := newTwilio(t)
	cfg.From, cfg.MessagingServiceSID = "", "MG42"
	c, err := New(cfg, nil, nil)
	require.NoError(t, err)
	require.NoError(t, c.Send(context.Background(), "+15551230000", "hi"))
	require.Equal(t, "MG42", fake.received[0].Get("MessagingServiceSid"))
	require.Empty(t, fake.received[0].Get("From"))
}

func TestWebhookProvider(t *testing.T) {
	var got map[string]string
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		if got["to"] == "+15550000009" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, "number not textable")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c, err := New(Config{Provider: ProviderWebhook, BaseURL: srv.URL + "/send", BearerToken: "tok", From: "+15557654321"}, nil, nil)
	require.NoError(t, err)
	require.NoError(t, c.Send(context.Background(), "+15551230000", "hello"))
	require.Equal(t, map[string]string{"to": "+15551230000", "from": "+15557654321", "text": "hello"}, got)
	require.Equal(t, "Bearer tok", auth)
	err = c.Send(context.Background(), "+15550000009", "hello")
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, 422, e.Status)
	require.Equal(t, "number not textable", e.Message)
}

func TestSendRejectsBadInputBeforeTheGateway(t *testing.T) {
	fake, cfg := newTwilio(t)
	c, err := New(cfg, nil, nil)
	require.NoError(t, err)
	for _, tc := range []struct{ to, text, want string }{
		{"5551230000", "hi", "to:"},
		{"+15551230000", "  ", "text: must not be empty"},
		{"+15551230000", strings.Repeat("x", MaxTextLength+1), "text: 1601 characters"},
	} {
		require.ErrorContains(t, c.Send(context.Background(), tc.to, tc.text), tc.want)
	}
	require.Empty(t, fake.received)
}

func TestUnreachableGatewayIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c, err := New(Config{Provider: ProviderTwilio, BaseURL: base, AccountSID: "AC1", AuthToken: "t", From: "+15557654321", Timeout: time.Second}, nil, nil)
	require.NoError(t, err)
	var e *Error
	require.ErrorAs(t, c.Send(context.Background(), "+15551230000", "hi"), &e)
	require.True(t, e.Temporary)
	require.Zero(t, e.Status)
}

func TestConfigValidateNamesFields(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"provider: required"}},
		{Config{Provider: "carrier-pigeon"}, []string{`provider: unknown "carrier-pigeon"`}},
		{Config{Provider: ProviderTwilio}, []string{"account_sid: required", "auth_token: required", "from: required"}},
		{Config{Provider: ProviderTwilio, AccountSID: "AC1", AuthToken: "t", From: "555", BaseURL: "ftp://x"}, []string{`from: "555" is not an E.164`, `base_url: "ftp://x" is not an http(s) URL`}},
		{Config{Provider: ProviderWebhook}, []string{"base_url: required for provider webhook"}},
		{Config{Provider: ProviderWebhook, BaseURL: "https://sms.example/send", Timeout: -time.Second}, []string{"timeout: must be ≥ 0"}},
	} {
		err := tc.cfg.Validate()
		require.Error(t, err)
		for _, w := range tc.want {
			require.ErrorContains(t, err, w)
		}
	}
	require.NoError(t, Config{Provider: ProviderWebhook, BaseURL: "https://sms.example/send"}.Validate())
}

func TestTwilioSignature(t *testing.T) {
	// The worked example of Twilio's webhook-security documentation.
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"}, "From": {"+12349013030"}, "To": {"+18005551212"}}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	sig := SignTwilio("12345", u, form)
	require.Equal(t, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", sig)
	require.True(t, VerifyTwilioSignature("12345", u, form, sig))
	require.False(t, VerifyTwilioSignature("12345", u+"&x=1", form, sig))
	require.False(t, VerifyTwilioSignature("wrong", u, form, sig))
	require.False(t, VerifyTwilioSignature("12345", u, form, "not base64!"))
	require.False(t, VerifyTwilioSignature("", u, form, sig))
}

func TestIsOptOut(t *testing.T) {
	for body, want := range map[string]bool{
		"STOP": true, "stop": true, " Stop. ": true, "STOPALL": true, "unsubscribe": true, "Cancel": true,
		"end": true, "quit": true, "revoke": true, "opt out": true, "Opt-Out": true, "stop calling me": true,
		"": false, "yes": false, "don't stop": false, "STOPPED": false, "ending soon?": false, "please call back": false,
	} {
		require.Equal(t, want, IsOptOut(body), "%q", body)
	}
}

func TestErrorWithoutStatus(t *testing.T) {
	e := &Error{Message: "dial tcp: refused", Temporary: true}
	require.Equal(t, "sms gateway: dial tcp: refused", e.Error())
	require.False(t, errors.Is(e, context.Canceled))
}
