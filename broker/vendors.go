package broker

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"time"

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
	params := func(req *Request) entrupy.AuthorizeUserParams {
		p := req.Entrupy
		return entrupy.AuthorizeUserParams{
			SDKAuthorizationRequest: p.SDKAuthorizationRequest, UniqueUserID: req.UserID,
			Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
		}
	}
	return &vendorState{
		vendor: Entrupy,
		method: http.MethodPost, path: "/v2/integrations/authorize-user",
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
		mint: func(ctx context.Context, req *Request) (*held, tokencache.Expiry, error) {
			tok, err := c.AuthorizeUser(ctx, params(req))
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			h := &held{
				grant:   Grant{Vendor: Entrupy, UserID: req.UserID, Token: tok.SignedRequest, ExpiresAt: tok.ExpiresAt, RefreshAfter: tok.SoftExpiresAt},
				variant: hashStrings(req.Entrupy.SDKAuthorizationRequest),
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
		check: func(Request) (variant, error) { return 0, nil },
		mint: func(ctx context.Context, req *Request) (*held, tokencache.Expiry, error) {
			code, err := c.CreateAuthCode(ctx, req.UserID)
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			t := now()
			soft := t.Add(code.ExpiresAt.Sub(t) / 2)
			h := &held{grant: Grant{Vendor: Sentiance, UserID: req.UserID, Token: code.Code, ExpiresAt: code.ExpiresAt, RefreshAfter: soft}}
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
		check: func(req Request) (variant, error) {
			p := resolve(&req)
			if p.WorkflowID == "" {
				return 0, httpx.Invalid("idv.workflow_id", "is empty (set it in the request or in WithIDV's defaults)")
			}
			return key(p), nil
		},
		mint: func(ctx context.Context, req *Request) (*held, tokencache.Expiry, error) {
			p := resolve(req)
			hand, err := c.Initiate(ctx, idv.InitiateParams{WorkflowID: p.WorkflowID, ExternalUserID: req.UserID, Metadata: p.Metadata, TTL: p.TTL})
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			h := &held{
				grant: Grant{Vendor: IDV, UserID: req.UserID, Token: hand.Device.Token, SessionID: hand.Session.ID,
					HandoffURL: hand.URL, ExpiresAt: hand.Device.ExpiresAt},
				variant: key(p),
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
		check: func(req Request) (variant, error) {
			d := data(&req)
			if d == nil {
				return 0, httpx.Invalid("uqudo.data", "is required (set it in the request or in WithUqudo's defaults)")
			}
			return uqudoVariant(d)
		},
		mint: func(ctx context.Context, req *Request) (*held, tokencache.Expiry, error) {
			d := data(req)
			v, err := uqudoVariant(d)
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			s, err := c.CreateSession(ctx, d)
			if err != nil {
				return nil, tokencache.Expiry{}, err
			}
			h := &held{
				grant: Grant{Vendor: Uqudo, UserID: req.UserID, SessionID: s.ID, QRCodeText: s.QRCodeText,
					QRCodeTextWithDynamicLink: s.QRCodeTextWithDynamicLink, ExpiresAt: s.ExpiresAt},
				variant: v,
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
