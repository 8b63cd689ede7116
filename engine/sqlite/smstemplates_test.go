package sqlite_test

import (
	"testing"

	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestSMSTemplatesConformance(t *testing.T) {
	storetest.RunSMSTemplates(t, func(t *testing.T) storetest.SMSTemplateStore { return newStore(t) })
}
