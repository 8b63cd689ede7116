// Package sms sends the text messages of SMS steps through a gateway's HTTP
// API. Two providers: "twilio", Twilio's Messages API (also spoken by
// SignalWire and other Twilio-compatible gateways, hence the configurable
// base URL), and "webhook", a plain JSON POST to a URL of the operator's own
// for gateways we do not speak. A Client has the engine's Messenger method
// set (Send(ctx, to, text) error) without importing the engine.
//
// Errors say what the gateway said and whether trying again can help: a
// recipient who replied STOP (Twilio 21610) is an OptOut, which the engine
// turns into a do-not-call entry; a bad number or a refused account is
// permanent; 429 and 5xx are temporary, with the gateway's Retry-After.
// The package also checks the signature of Twilio's inbound-message
// webhooks (VerifyTwilioSignature) and recognizes opt-out keywords
// (IsOptOut), so the API can stop every cadence of a number that texts STOP.
package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Provider names.
const (
	ProviderTwilio  = "twilio"
	ProviderWebhook = "webhook"
)

// DefaultTwilioBaseURL is Twilio's REST API root.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// MaxTextLength caps a message's length in characters: 10 segments of a
// concatenated UCS-2 SMS (the providers' own limit is about 1,600).
const MaxTextLength = 1600

// Config describes one SMS gateway.
type Config struct {
	// Provider is "twilio" or "webhook".
	Provider string
	// BaseURL is the API root for twilio (default DefaultTwilioBaseURL;
	// set it for a Twilio-compatible gateway) and the full URL messages are
	// POSTed to for webhook.
	BaseURL string
	// AccountSID and AuthToken authenticate to twilio (HTTP basic auth).
	AccountSID string
	AuthToken  string
	// BearerToken, when set, is sent as "Authorization: Bearer …" to webhook.
	BearerToken string
	// From is the sending number in E.164; twilio needs From or
	// MessagingServiceSID.
	From                string
	MessagingServiceSID string
	// Timeout bounds one request; default 10 s.
	Timeout time.Duration
}

// Validate reports every invalid field of c, each naming it.
func (c Config) Validate() error {
	var errs []error
	switch c.Provider {
	case ProviderTwilio:
		if c.AccountSID == "" {
			errs = append(errs, errors.New("account_sid: required for provider twilio"))
		}
		if c.AuthToken == "" {
			errs = append(errs, errors.New("auth_token: required for provider twilio (set the variable auth_token_env names)"))
		}
		if c.From == "" && c.MessagingServiceSID == "" {
			errs = append(errs, errors.New("from: required for provider twilio unless messaging_service_sid is set"))
		}
		if c.BaseURL != "" {
			errs = append(errs, checkURL("base_url", c.BaseURL)...)
		}
	case ProviderWebhook:
		if c.BaseURL == "" {
			errs = append(errs, errors.New("base_url: required for provider webhook"))
		} else {
			errs = append(errs, checkURL("base_url", c.BaseURL)...)
		}
	case "":
		errs = append(errs, errors.New("provider: required (twilio or webhook)"))
	default:
		errs = append(errs, fmt.Errorf("provider: unknown %q (want twilio or webhook)", c.Provider))
	}
	if c.From != "" && !isE164(c.From) {
		errs = append(errs, fmt.Errorf("from: %q is not an E.164 number (+15551234567)", c.From))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must be ≥ 0, got %v", c.Timeout))
	}
	return errors.Join(errs...)
}

func checkURL(field, raw string) []error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []error{fmt.Errorf("%s: %q is not an http(s) URL", field, raw)}
	}
	return nil
}

func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Error is a message the gateway did not accept.
type Error struct {
	// Status is the HTTP status (0 when the request never got an answer).
	Status int
	// Code and Message are the provider's own (Twilio error codes).
	Code    int
	Message string
	// Temporary: trying again later may work (429, 5xx, network).
	Temporary bool
	// RetryAfter is the gateway's Retry-After, when it sent one.
	RetryAfter time.Duration
	// optOut: the recipient has unsubscribed (replied STOP).
	optOut bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sms gateway")
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ", code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.optOut {
		b.WriteString(" (recipient opted out)")
	}
	return b.String()
}

// OptOut reports that the recipient has unsubscribed from our messages: the
// engine adds the number to the do-not-call list.
func (e *Error) OptOut() bool { return e.optOut }

// Twilio error codes the client acts on.
const (
	twilioUnsubscribed = 21610 // "Attempt to send to unsubscribed recipient"
	twilioTooMany      = 20429
)

// Client sends messages through one gateway. It is safe for concurrent use.
type Client struct {
	cfg     Config
	hc      *http.Client
	sent    *prometheus.CounterVec
	latency prometheus.Histogram
}

// New checks cfg and returns a client. hc nil means a client with
// cfg.Timeout; reg nil registers no metrics.
func New(cfg Config, hc *http.Client, reg prometheus.Registerer) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Provider == ProviderTwilio && cfg.BaseURL == "" {
		cfg.BaseURL = DefaultTwilioBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	c := &Client{cfg: cfg, hc: hc,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cadenza_sms_sent_total",
			Help: "Text messages handed to the SMS gateway, by result (sent, opt_out, rejected, temporary)."}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cadenza_sms_request_seconds",
			Help: "Time the SMS gateway took to answer a send.", Buckets: prometheus.DefBuckets}),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{c.sent, c.latency} {
			if err := reg.Register(col); err != nil {
				return nil, fmt.Errorf("sms metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Send sends text to the E.164 number to. It returns nil once the gateway
// has accepted the message (queued for delivery), or an *Error.
func (c *Client) Send(ctx context.Context, to, text string) error {
	switch {
	case !isE164(to):
		return fmt.Errorf("sms: to: %q is not an E.164 number", to)
	case strings.TrimSpace(text) == "":
		return errors.New("sms: text: must not be empty")
	case utf8.RuneCountInString(text) > MaxTextLength:
		return fmt.Errorf("sms: text: %d characters, at most %d", utf8.RuneCountInString(text), MaxTextLength)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := c.request(ctx, to, text)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	c.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		c.sent.WithLabelValues("temporary").Inc()
		return &Error{Message: err.Error(), Temporary: true}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		c.sent.WithLabelValues("sent").Inc()
		return nil
	}
	e := classify(resp, body)
	switch {
	case e.optOut:
		c.sent.WithLabelValues("opt_out").Inc()
	case e.Temporary:
		c.sent.WithLabelValues("temporary").Inc()
	default:
		c.sent.WithLabelValues("rejected").Inc()
	}
	return e
}

func (c *Client) request(ctx context.Context, to, text string) (*http.Request, error) {
	if c.cfg.Provider == ProviderWebhook {
		body, err := json.Marshal(map[string]string{"to": to, "from": c.cfg.From, "text": text})
		if err != nil {
			return nil, fmt.Errorf("sms: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("sms: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		if c.cfg.BearerToken != "" {
			req.Header.Set("Authorization", "Bearer "+c.cfg.BearerToken)
		}
		return req, nil
	}
	form := url.Values{"To": {to}, "Body": {text}}
	if c.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", c.cfg.MessagingServiceSID)
	} else {
		form.Set("From", c.cfg.From)
	}
	u := c.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(c.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.cfg.AccountSID, c.cfg.AuthToken)
	return req, nil
}

// classify reads a refusal: Twilio's JSON error ({"code", "message",
// "status"}) or any other body as text.
func classify(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	var tw struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &tw) == nil && (tw.Code != 0 || tw.Message != "") {
		e.Code, e.Message = tw.Code, tw.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	e.optOut = e.Code == twilioUnsubscribed
	e.Temporary = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || e.Code == twilioTooMany
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = time.Until(t).Round(time.Second)
		}
	}
	return e
}
