//go:build !race

package predictive_test

// raceDetector reports whether the tests run under -race.
const raceDetector = false
