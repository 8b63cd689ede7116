package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// smsDef is one SMS step.
func smsDef(s engine.SMSStep) engine.Definition {
	def := oneCallDefinition()
	def.Steps = []engine.Step{{Name: "text", Type: engine.StepSMS, SMS: &s}}
	return def
}

// Seed 001: an SMS action picks a stored template, and "Customize Message"
// sends the step's edited text instead.
func TestSMSTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		step engine.SMSStep
		want string
	}{
		{"stored template", engine.SMSStep{Template: "welcome", Variables: map[string]string{"offer": "10% off"}}, "Hi Ada, welcome! 10% off"},
		{"template by id works too", engine.SMSStep{Template: "<id>", Variables: map[string]string{"offer": "a gift"}}, "Hi Ada, welcome! a gift"},
		{"customized", engine.SMSStep{Template: "welcome", Customize: true, Text: "Hey {{contact.first_name}}, call me back."}, "Hey Ada, call me back."},
		{"own text", engine.SMSStep{Text: "Plain {{contact.first_name}}"}, "Plain Ada"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newLiveAgentEnv(t, nil)
			tpl, err := env.store.CreateSMSTemplate(env.ctx, engine.SMSTemplate{Name: "welcome", Text: "Hi {{contact.first_name}}, welcome! {{offer}}"}, env.clock.Now())
			require.NoError(t, err)
			if tc.step.Template == "<id>" {
				tc.step.Template = tpl.ID
			}
			cad := env.cadence(t, smsDef(tc.step))
			_, err = env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID,
				Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York", FirstName: "Ada"}})
			require.NoError(t, err)
			_, err = env.eng.RunDue(env.ctx)
			require.NoError(t, err)
			require.Equal(t, []engine.SentMessage{{To: "+12125550100", Text: tc.want}}, env.sms.Sent())
		})
	}
}

func TestSMSMissingTemplateFails(t *testing.T) {
	t.Parallel()
	env := newLiveAgentEnv(t, nil)
	cad := env.cadence(t, smsDef(engine.SMSStep{Template: "gone"}))
	_, err := env.eng.Enroll(env.ctx, engine.EnrollRequest{CadenceID: cad.ID,
		Contact: &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}})
	require.NoError(t, err)
	_, err = env.eng.RunDue(env.ctx)
	require.NoError(t, err)
	require.Empty(t, env.sms.Sent())
	sms := env.eventsOf(engine.EventSMS)
	require.Len(t, sms, 1)
	require.Equal(t, engine.SMSFailed, sms[0].Disposition)
	require.Contains(t, sms[0].Reason, `sms template "gone"`)
}

// optOutErr is what an SMS gateway returns for a recipient who replied STOP.
type optOutErr struct{}

func (optOutErr) Error() string { return "sms gateway: HTTP 400, code 21610: unsubscribed recipient" }
func (optOutErr) OptOut() bool  { return true }

type optOutMessenger struct {
	mu sync.Mutex
	n  int
}

func (m *optOutMessenger) Send(context.Context, string, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	return optOutErr{}
}

// A gateway that says the recipient opted out puts the number on the
// do-not-call list: every enrollment of it stops, calls included.
func TestSMSOptOutStopsEveryEnrollment(t *testing.T) {
	t.Parallel()
	store := newMemStore(t)
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))
	dial := &scriptDialer{now: clock.Now}
	eng, err := engine.New(engine.Options{Store: store, Now: clock.Now, Dialer: dial, Messenger: &optOutMessenger{}})
	require.NoError(t, err)
	ctx := t.Context()
	text, err := store.CreateCadence(ctx, smsDef(engine.SMSStep{Text: "Hello"}), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	later := oneCallDefinition()
	later.Steps[0].Timing.Delay = engine.Duration(2 * time.Hour)
	calls, err := store.CreateCadence(ctx, later, engine.StatusActive, clock.Now())
	require.NoError(t, err)
	ada := &engine.Contact{Phone: "+12125550100", TimeZone: "America/New_York"}
	_, err = eng.Enroll(ctx, engine.EnrollRequest{CadenceID: calls.ID, Contact: ada})
	require.NoError(t, err)
	e2, err := eng.Enroll(ctx, engine.EnrollRequest{CadenceID: text.ID, Contact: ada})
	require.NoError(t, err)
	_, err = eng.RunDue(ctx)
	require.NoError(t, err)

	dnc, err := store.IsDNC(ctx, "+12125550100")
	require.NoError(t, err)
	require.True(t, dnc, "the opted-out number is on the do-not-call list")
	clock.Advance(3 * time.Hour)
	_, err = eng.RunDue(ctx)
	require.NoError(t, err)
	require.Empty(t, dial.Calls(), "no call after the opt-out")
	got, err := store.GetEnrollment(ctx, e2.ID)
	require.NoError(t, err)
	require.NotEqual(t, engine.EnrollmentActive, got.Status)
}
