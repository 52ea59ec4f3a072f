package sentiance

import (
	"context"
	"net/http"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// User is a Sentiance user, as returned by [Client.LinkInstall].
type User struct {
	// ID is the Sentiance user id.
	ID string `json:"id"`
}

// linkResponse is the wire form of the link answer, {"id": ...}.
type linkResponse struct {
	ID string `json:"id"`
}

// ValidateResponse implements httpx.ResponseValidator.
func (r *linkResponse) ValidateResponse() error {
	if r.ID == "" {
		return httpx.MissingField("id")
	}
	return nil
}

// LinkInstall links an SDK install to externalID with the legacy linking
// flow (POST /v2/users/{install_id}/link, body {"external_id": ...}; the key
// needs scope user.link) and returns the Sentiance user the install now
// belongs to. New integrations should use [Client.CreateAuthCode] instead.
//
// When externalID is already linked to a user, the install joins that user.
// An install already linked to another user's external id fails with
// [CodeInstallLinkedToOtherUser]; an app without user linking fails with
// [CodeUserLinkingNotConfigured] (see [ErrorCode]).
//
// Both ids are checked before any call (see [ValidateExternalID] and
// [MaxIDLength]); the install id is escaped into the path. Like every POST it
// is retried only on 429 or when it never reached Sentiance.
func (c *Client) LinkInstall(ctx context.Context, installID, externalID string) (*User, error) {
	if err := checkID("install_id", installID, MaxIDLength); err != nil {
		return nil, err
	}
	if err := ValidateExternalID(externalID); err != nil {
		return nil, err
	}
	var out linkResponse
	_, err := c.do(ctx, &httpx.Request{
		Method: http.MethodPost,
		Path:   httpx.Path("v2", "users", installID, "link"),
		JSON:   externalIDBody{ExternalID: externalID},
	}, &out)
	if err != nil {
		return nil, err
	}
	return &User{ID: out.ID}, nil
}

// DeleteUser deletes the Sentiance user userID and its data (DELETE
// /users/{user_id}; the key needs scope user.delete). A user that does not
// exist fails with [ErrNotFound] and, when Sentiance says so,
// [CodeUserNotFound]; callers that want deletion to be idempotent can treat
// that as success. DELETE is idempotent, so 429, 502, 503, 504 and connection
// errors are retried. The id is checked and escaped into the path.
func (c *Client) DeleteUser(ctx context.Context, userID string) error {
	if err := checkID("user_id", userID, MaxIDLength); err != nil {
		return err
	}
	_, err := c.do(ctx, &httpx.Request{
		Method: http.MethodDelete,
		Path:   httpx.Path("users", userID),
	}, nil)
	return err
}
