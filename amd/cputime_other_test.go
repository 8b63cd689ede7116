//go:build !unix

package amd

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
