package entrupy

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/sdkbroker/sdkbroker/internal/httpx"
)

// Routes of the authentication results, written as net/http ServeMux patterns.
const (
	// RouteGetAuthentication reads one item by Entrupy's id.
	RouteGetAuthentication = "GET /v2/authentications/{entrupy_id}"
	// RouteLookupAuthentication reads one item by your customer item id.
	RouteLookupAuthentication = "GET /v2/lookup/authentications/{customer_item_id}"
)

// AuthenticationStatus is where an item's authentication stands. Values
// other than the constants are kept verbatim.
type AuthenticationStatus string

// Authentication statuses (**assumed** wire values).
const (
	// StatusInProgress: the item is being authenticated.
	StatusInProgress AuthenticationStatus = "in_progress"
	// StatusNeedsReview: Entrupy asks for more photos or information
	// (see the support messages).
	StatusNeedsReview AuthenticationStatus = "needs_review"
	// StatusCompleted: a result is available.
	StatusCompleted AuthenticationStatus = "completed"
)

// AuthenticationResult is the verdict on a completed item. Values other
// than the constants are kept verbatim.
type AuthenticationResult string

// Authentication results (**assumed** wire values).
const (
	// ResultAuthentic: Entrupy found the item authentic.
	ResultAuthentic AuthenticationResult = "authentic"
	// ResultUnidentified: Entrupy could not confirm the item.
	ResultUnidentified AuthenticationResult = "unidentified"
	// ResultNotSupported: the item is not something Entrupy authenticates.
	ResultNotSupported AuthenticationResult = "not_supported"
)

// Authentication is one item's authentication. Entrupy's full object is
// richer than this and its field names here are **assumed**: "entrupy_id",
// "customer_item_id", "status", "result" (each a string, or an object whose
// "id" is the value), "certificate_url", "brand", "created_at",
// "completed_at" (Unix seconds or RFC 3339). Raw keeps the whole object, so
// nothing Entrupy sent is lost.
type Authentication struct {
	// EntrupyID is Entrupy's id of the item.
	EntrupyID string `json:"entrupy_id"`
	// CustomerItemID is your id of the item, if you gave one.
	CustomerItemID string `json:"customer_item_id,omitempty"`
	// Status is where the authentication stands.
	Status AuthenticationStatus `json:"status,omitempty"`
	// Result is the verdict, empty until Status is completed.
	Result AuthenticationResult `json:"result,omitempty"`
	// CertificateURL links the item's certificate, once there is one.
	CertificateURL string `json:"certificate_url,omitempty"`
	// Brand is the item's brand, when known.
	Brand string `json:"brand,omitempty"`
	// CreatedAt is when the authentication started; zero if not sent.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// CompletedAt is when the result was given; zero if not sent.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// Raw is the JSON object as Entrupy sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes an authentication, tolerating the value shapes
// described on [Authentication], and keeps the object in Raw.
func (a *Authentication) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	type plain Authentication
	var aux struct {
		plain
		Status      flexID    `json:"status"`
		Result      flexID    `json:"result"`
		CreatedAt   timestamp `json:"created_at"`
		CompletedAt timestamp `json:"completed_at"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return wireField(err)
	}
	*a = Authentication(aux.plain)
	a.Status = AuthenticationStatus(aux.Status)
	a.Result = AuthenticationResult(aux.Result)
	a.CreatedAt = time.Time(aux.CreatedAt)
	a.CompletedAt = time.Time(aux.CompletedAt)
	a.Raw = append(json.RawMessage(nil), bytes.TrimSpace(b)...)
	return nil
}

// ValidateResponse requires "entrupy_id".
func (a *Authentication) ValidateResponse() error {
	if a.EntrupyID == "" {
		return httpx.MissingField("entrupy_id")
	}
	return nil
}

// GetAuthentication returns the item Entrupy knows as entrupyID
// (GET /v2/authentications/{entrupy_id}). An unknown id is an [*APIError]
// matching [ErrNotFound].
func (c *Client) GetAuthentication(ctx context.Context, entrupyID string) (*Authentication, error) {
	if err := validateID("entrupy_id", entrupyID); err != nil {
		return nil, err
	}
	return c.getAuthentication(ctx, RouteGetAuthentication, entrupyID)
}

// LookupAuthentication returns the item you submitted under customerItemID
// (GET /v2/lookup/authentications/{customer_item_id}). An unknown id is an
// [*APIError] matching [ErrNotFound].
func (c *Client) LookupAuthentication(ctx context.Context, customerItemID string) (*Authentication, error) {
	if err := validateID("customer_item_id", customerItemID); err != nil {
		return nil, err
	}
	return c.getAuthentication(ctx, RouteLookupAuthentication, customerItemID)
}

func (c *Client) getAuthentication(ctx context.Context, r, id string) (*Authentication, error) {
	method, path := route(r, id)
	var out Authentication
	if _, err := c.do(ctx, &httpx.Request{Method: method, Path: path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
