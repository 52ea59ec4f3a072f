//go:build race

package sdkbroker_test

// raceEnabled reports a build with the race detector.
const raceEnabled = true
