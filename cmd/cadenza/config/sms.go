package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/sms"
)

// SMS configures the gateway SMS steps are sent through. With no provider,
// SMS steps fail with "no messenger configured" (and are routed as failed).
type SMS struct {
	// Provider is twilio (Twilio's Messages API, or a compatible gateway
	// at BaseURL) or webhook (a JSON POST {to, from, text} to BaseURL).
	Provider string `yaml:"provider"`
	// BaseURL: the API root for twilio (default https://api.twilio.com),
	// the full URL for webhook.
	BaseURL string `yaml:"base_url"`
	// AccountSID is the Twilio account.
	AccountSID string `yaml:"account_sid"`
	// AuthTokenEnv names the variable holding the Twilio auth token (also
	// the key inbound webhooks are signed with). Default CADENZA_SMS_AUTH_TOKEN.
	AuthTokenEnv string `yaml:"auth_token_env"`
	AuthToken    string `yaml:"-"`
	// BearerTokenEnv names the variable holding the webhook's bearer token.
	BearerTokenEnv string `yaml:"bearer_token_env"`
	BearerToken    string `yaml:"-"`
	// From is the sending number (E.164); MessagingServiceSID replaces it
	// for Twilio messaging services.
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// Timeout bounds one send. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// InboundURL is the public URL the gateway posts replies to
	// (…/v1/sms/inbound), exactly as configured at the provider: Twilio
	// signs it, so it is needed to verify the signature. Replies such as
	// STOP put the number on the do-not-call list.
	InboundURL string `yaml:"inbound_url"`
}

// Enabled reports whether an SMS gateway is configured.
func (s SMS) Enabled() bool { return s.Provider != "" }

// Gateway is the sms package's view of this section.
func (s SMS) Gateway() sms.Config {
	return sms.Config{Provider: s.Provider, BaseURL: s.BaseURL, AccountSID: s.AccountSID, AuthToken: s.AuthToken,
		BearerToken: s.BearerToken, From: s.From, MessagingServiceSID: s.MessagingServiceSID, Timeout: s.Timeout}
}

func (s *SMS) resolveSecrets(getenv func(string) string) {
	if !s.Enabled() {
		return
	}
	if s.Provider == sms.ProviderTwilio && s.AuthTokenEnv == "" {
		s.AuthTokenEnv = "CADENZA_SMS_AUTH_TOKEN"
	}
	if s.AuthTokenEnv != "" {
		s.AuthToken = getenv(s.AuthTokenEnv)
	}
	if s.BearerTokenEnv != "" {
		s.BearerToken = getenv(s.BearerTokenEnv)
	}
}

func (s SMS) validate() Errors {
	if !s.Enabled() {
		if s.InboundURL != "" || s.From != "" || s.AccountSID != "" || s.BaseURL != "" {
			return Errors{"sms.provider: required when other sms keys are set (twilio or webhook)"}
		}
		return nil
	}
	var errs Errors
	for _, msg := range splitJoined(s.Gateway().Validate()) {
		// The gateway names its fields; say where they are in this file,
		// and which variable a missing secret comes from.
		if strings.HasPrefix(msg, "auth_token:") {
			msg = fmt.Sprintf("auth_token_env: the variable %s is not set (the Twilio auth token comes from the environment)", s.AuthTokenEnv)
		}
		errs = append(errs, "sms."+msg)
	}
	if s.BearerTokenEnv != "" && s.BearerToken == "" {
		errs = append(errs, fmt.Sprintf("sms.bearer_token_env: the variable %s is not set", s.BearerTokenEnv))
	}
	if s.InboundURL != "" && !strings.HasPrefix(s.InboundURL, "https://") && !strings.HasPrefix(s.InboundURL, "http://") {
		errs = append(errs, fmt.Sprintf("sms.inbound_url: %q is not an http(s) URL", s.InboundURL))
	}
	return errs
}
