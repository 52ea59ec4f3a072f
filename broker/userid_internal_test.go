package broker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
)

// A vendor client that refuses the user id after the broker's own check
// passed (a rule tightened in the vendor package) is reported with the
// rule and the WithUserIDs hint, not as a bare vendor error.
func TestMint_VendorRefusalOfTheUserIDNamesTheRule(t *testing.T) {
	b := &Broker{now: time.Now, userIDs: identityMapper{}, ledger: newLedger(DefaultLedgerRetention, 10)}
	vs := &vendorState{
		vendor: IDV,
		idRule: userIDRule{field: "external_user_id", rule: "short text", check: func(string) error { return nil }},
		mint: func(context.Context, *call) (*held, tokencache.Expiry, error) {
			return nil, tokencache.Expiry{}, httpx.Invalid("external_user_id", "is longer than 4 bytes")
		},
	}
	_, _, err := b.mint(context.Background(), vs, &call{req: Request{Vendor: IDV, UserID: "alice"}, vendorUserID: "alice"})
	if !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("err = %v, want ErrInvalidInput", err)
	}
	for _, want := range []string{"your user id does not fit idv's external_user_id, which must be short text", "is longer than 4 bytes", "WithUserIDs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	// Another field's refusal passes as is.
	vs.mint = func(context.Context, *call) (*held, tokencache.Expiry, error) {
		return nil, tokencache.Expiry{}, httpx.Invalid("workflow_id", "is empty")
	}
	_, _, err = b.mint(context.Background(), vs, &call{req: Request{Vendor: IDV, UserID: "alice"}, vendorUserID: "alice"})
	if err == nil || err.Error() != "invalid input: workflow_id: is empty" {
		t.Errorf("err = %v", err)
	}
	if b.ledger.stats().Entries != 0 {
		t.Error("a failed mint is not recorded")
	}
}
