package broker

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/internal/httpx"
	"github.com/sdkbroker/sdkbroker/internal/tokencache"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// adapters maps each configured vendor client onto a vendorState: the
// reuse policy of each vendor is the Expiry its mint function returns.
func adapters(cfg *config, now func() time.Time) []*vendorState {
	var out []*vendorState
	if c := cfg.entrupy; c != nil {
		out = append(out, entrupyAdapter(c))
	}
	if c := cfg.sentiance; c != nil {
		out = append(out, sentianceAdapter(c, now))
	}
	if c := cfg.idv; c != nil {
		out = append(out, idvAdapter(c, cfg.idvDefault))
	}
	if c := cfg.uqudo; c != nil {
		out = append(out, uqudoAdapter(c, cfg.uqudoDef))
	}
	return out
}

// entrupyAdapter: the signed request is reused until Entrupy's soft_exp, for
// the same user and the same SDK authorization request only.
func entrupyAdapter(c *entrupy.Client) *vendorState {
	params := func(cl *call) entrupy.AuthorizeUserParams {
		p := cl.req.Entrupy
		return entrupy.AuthorizeUserParams{
			SDKAuthorizationRequest: p.SDKAuthorizationRequest, UniqueUserID: cl.vendorUserID,
			Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
		}
	}
	return &vendorState{
		vendor: Entrupy,
		method: http.MethodPost, path: "/v2/integrations/authorize-user",
		idRule: userIDRule{
			field: "unique_user_id",
			rule: fmt.Sprintf("%d to %d characters of A-Z, a-z, 0-9 and %s",
				entrupy.MinUniqueUserIDLen, entrupy.MaxUniqueUserIDLen, entrupy.UniqueUserIDSymbols),
			check: entrupy.ValidateUniqueUserID,
		},
		// The entrupy client validates the params before its call; check
		// only needs what picks the grant.
		check: func(req Request) (variant, error) {
			if req.Entrupy == nil {
				return 0, httpx.Invalid("entrupy", "params are required")
			}
			if req.Entrupy.SDKAuthorizationRequest == "" {
				return 0, httpx.Invalid("entrupy.sdk_authorization_request", "is empty")
			}
			return hashStrings(req.Entrupy.SDKAuthorizationRequest), nil
		},
		mint: func(ctx context.Context, cl *call) (*held, tokencache.Expiry, error) {
			tok, err := c.AuthorizeUser(ctx, params(cl))
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			h := &held{
				grant:   Grant{Vendor: Entrupy, UserID: cl.req.UserID, Token: tok.SignedRequest, ExpiresAt: tok.ExpiresAt, RefreshAfter: tok.SoftExpiresAt},
				variant: hashStrings(cl.req.Entrupy.SDKAuthorizationRequest),
				sent:    cl.vendorUserID,
			}
			return h, tokencache.Expiry{Soft: tok.SoftExpiresAt, Hard: tok.ExpiresAt}, nil
		},
	}
}

// sentianceAdapter: an authentication code is short-lived and
// single-purpose; it is reused only in the first half of its life (a double
// tap), then a new one is fetched.
func sentianceAdapter(c *sentiance.Client, now func() time.Time) *vendorState {
	return &vendorState{
		vendor: Sentiance,
		method: http.MethodPost, path: "/users/auth-code",
		idRule: userIDRule{
			field: "external_id",
			rule:  fmt.Sprintf("non-empty UTF-8 text of at most %d bytes without control characters", sentiance.MaxExternalIDLength),
			check: sentiance.ValidateExternalID,
		},
		check: func(Request) (variant, error) { return 0, nil },
		mint: func(ctx context.Context, cl *call) (*held, tokencache.Expiry, error) {
			code, err := c.CreateAuthCode(ctx, cl.vendorUserID)
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			t := now()
			soft := t.Add(code.ExpiresAt.Sub(t) / 2)
			h := &held{grant: Grant{Vendor: Sentiance, UserID: cl.req.UserID, Token: code.Code, PlatformURL: c.PlatformURL(),
				ExpiresAt: code.ExpiresAt, RefreshAfter: soft}, sent: cl.vendorUserID}
			return h, tokencache.Expiry{Soft: soft, Hard: code.ExpiresAt}, nil
		},
	}
}

// idvAdapter: the handoff (device, session, URL) is reused while the device
// token is fresh, so a double tap on "start verification" opens one session.
func idvAdapter(c *idv.Client, defaults IDVParams) *vendorState {
	resolve := func(req *Request) IDVParams {
		p := defaults
		if r := req.IDV; r != nil {
			if r.WorkflowID != "" {
				p.WorkflowID = r.WorkflowID
			}
			if r.TTL != 0 {
				p.TTL = r.TTL
			}
			if len(r.Metadata) > 0 {
				p.Metadata = maps.Clone(p.Metadata)
				if p.Metadata == nil {
					p.Metadata = make(map[string]any, len(r.Metadata))
				}
				maps.Copy(p.Metadata, r.Metadata)
			}
		}
		return p
	}
	key := func(p IDVParams) variant { return hashStrings(p.WorkflowID, strconv.FormatInt(int64(p.TTL), 10)) }
	return &vendorState{
		vendor: IDV,
		method: http.MethodPost, path: "/api/device/ephemeral",
		idRule: userIDRule{
			field: "external_user_id",
			rule:  textRule(idv.MaxIDLength),
			check: textCheck(idv.MaxIDLength),
		},
		check: func(req Request) (variant, error) {
			p := resolve(&req)
			if p.WorkflowID == "" {
				return 0, httpx.Invalid("idv.workflow_id", "is empty (set it in the request or in WithIDV's defaults)")
			}
			return key(p), nil
		},
		mint: func(ctx context.Context, cl *call) (*held, tokencache.Expiry, error) {
			p := resolve(&cl.req)
			hand, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: p.WorkflowID, ExternalUserID: cl.vendorUserID, Metadata: p.Metadata, TTL: p.TTL})
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			h := &held{
				grant: Grant{Vendor: IDV, UserID: cl.req.UserID, Token: hand.Device.Token, SessionID: hand.Session.ID,
					HandoffURL: hand.URL, ExpiresAt: hand.Device.ExpiresAt},
				variant: key(p),
				sent:    cl.vendorUserID,
			}
			return h, tokencache.Expiry{Hard: hand.Device.ExpiresAt}, nil
		},
	}
}

// uqudoAdapter: a QR session is reused within its 30-minute life minus the
// soft window, for the same session data.
func uqudoAdapter(c *uqudo.Client, defaults UqudoParams) *vendorState {
	data := func(req *Request) uqudo.SessionInput {
		if req.Uqudo != nil && req.Uqudo.Data != nil {
			return req.Uqudo.Data
		}
		return defaults.Data
	}
	return &vendorState{
		vendor: Uqudo,
		method: http.MethodPost, path: "/api/v1/session",
		idRule: userIDRule{
			field: "generalConfig.userIdentifier",
			rule:  textRule(MaxUserIDLen),
			check: textCheck(MaxUserIDLen),
		},
		check: func(req Request) (variant, error) {
			d := data(&req)
			if d == nil {
				return 0, httpx.Invalid("uqudo.data", "is required (set it in the request or in WithUqudo's defaults)")
			}
			if userIdentifier(d) != "" {
				return 0, httpx.Invalid("uqudo.data.generalConfig.userIdentifier",
					"is set by the broker to the user id it sends uqudo (see WithUserIDs); leave it empty")
			}
			return uqudoVariant(d)
		},
		mint: func(ctx context.Context, cl *call) (*held, tokencache.Expiry, error) {
			d := data(&cl.req)
			v, err := uqudoVariant(d)
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			d, sent := withUserIdentifier(d, cl.vendorUserID)
			s, err := c.CreateSession(ctx, d)
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			h := &held{
				grant: Grant{Vendor: Uqudo, UserID: cl.req.UserID, SessionID: s.ID, QRCodeText: s.QRCodeText,
					QRCodeTextWithDynamicLink: s.QRCodeTextWithDynamicLink, ExpiresAt: s.ExpiresAt},
				variant: v,
				sent:    sent,
			}
			return h, tokencache.Expiry{Hard: s.ExpiresAt}, nil
		},
	}
}

// uqudoVariant hashes the encoded session data, validating it on the way.
func uqudoVariant(d uqudo.SessionInput) (variant, error) {
	switch v := d.(type) {
	case uqudo.RawSessionData:
		if v == "" {
			return 0, httpx.Invalid("uqudo.data", "is empty")
		}
		return hashStrings(string(v)), nil
	case uqudo.SessionData:
		s, err := v.Encode()
		if err != nil {
			return 0, err
		}
		return hashStrings(s), nil
	case *uqudo.SessionData:
		if v == nil {
			return 0, httpx.Invalid("uqudo.data", "is nil")
		}
		s, err := v.Encode()
		if err != nil {
			return 0, err
		}
		return hashStrings(s), nil
	}
	return 0, httpx.Invalid("uqudo.data", "has an unknown type")
}

// textRule and textCheck are the user-id rule for vendors that document
// none: IDV's externalUserId metadata (with the idv package's assumed bound,
// idv.MaxIDLength) and uqudo's userIdentifier (with the bound Start applies
// to your own ids, MaxUserIDLen).
func textRule(maxLen int) string {
	return fmt.Sprintf("non-empty UTF-8 text of at most %d bytes without control characters", maxLen)
}

func textCheck(maxLen int) func(string) error {
	return func(id string) error {
		switch {
		case strings.TrimSpace(id) == "":
			return httpx.Invalid("user_id", "is empty")
		case len(id) > maxLen:
			return httpx.Invalid("user_id", "is longer than "+strconv.Itoa(maxLen)+" bytes")
		case !utf8.ValidString(id):
			return httpx.Invalid("user_id", "is not valid UTF-8")
		case strings.ContainsFunc(id, unicode.IsControl):
			return httpx.Invalid("user_id", "contains control characters")
		}
		return nil
	}
}

// withUserIdentifier puts the vendor-side user id in uqudo session data as
// generalConfig.userIdentifier (uqudo echoes it in the result), on a copy:
// the caller's data is never changed. Data without a generalConfig gets
// one, whose other fields are then sent with the uqudo package's values for
// an unset field (secureWindowsEnabled true, returnDataForIncompleteSession
// false). uqudo.RawSessionData is opaque and sent as is, with no user id.
// It returns the data to send and the id sent.
func withUserIdentifier(d uqudo.SessionInput, id string) (uqudo.SessionInput, string) {
	var sd uqudo.SessionData
	switch v := d.(type) {
	case uqudo.SessionData:
		sd = v
	case *uqudo.SessionData:
		sd = *v
	default:
		return d, ""
	}
	var gc uqudo.GeneralConfig
	if sd.GeneralConfig != nil {
		gc = *sd.GeneralConfig
	}
	gc.UserIdentifier = id
	sd.GeneralConfig = &gc
	return sd, id
}

// userIdentifier returns the userIdentifier set in typed session data.
func userIdentifier(d uqudo.SessionInput) string {
	var gc *uqudo.GeneralConfig
	switch v := d.(type) {
	case uqudo.SessionData:
		gc = v.GeneralConfig
	case *uqudo.SessionData:
		if v != nil {
			gc = v.GeneralConfig
		}
	}
	if gc == nil {
		return ""
	}
	return gc.UserIdentifier
}
