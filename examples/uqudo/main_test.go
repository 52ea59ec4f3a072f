package main

import "testing"

// TestRun_Fake runs the whole program against the in-memory fake: create a
// session, complete it, fetch and verify the result, purge it.
func TestRun_Fake(t *testing.T) {
	t.Setenv("UQUDO_CLIENT_ID", "")
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
