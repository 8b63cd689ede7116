package sqlite_test

import (
	"testing"

	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestReadModelConformance(t *testing.T) {
	storetest.RunReadModel(t, func(t *testing.T) storetest.ReadModelStore { return newStore(t) })
}
