package brokerhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/uqudo"
)

// maxDepth is the deepest nesting of objects and arrays a body may have.
const maxDepth = 32

// The bodies of POST /{vendor}/start. Field names are matched as
// encoding/json matches them (exact name first, then case-insensitively).
type (
	entrupyBody struct {
		SDKAuthorizationRequest string `json:"sdk_authorization_request"`
		Email                   string `json:"email"`
		FirstName               string `json:"first_name"`
		LastName                string `json:"last_name"`
	}
	idvBody struct {
		WorkflowID string         `json:"workflow_id"`
		Metadata   map[string]any `json:"metadata"`
		TTL        int64          `json:"ttl"` // whole seconds
	}
	uqudoBody struct {
		Data *uqudo.SessionData `json:"data"`
	}
	// emptyBody is the body of the Sentiance start and of every
	// invalidate: {} (or nothing).
	emptyBody struct{}
)

// isJSON reports whether the request says its body is JSON: exactly one
// Content-Type, application/json, with no charset or charset utf-8.
func isJSON(r *http.Request) bool {
	values := r.Header.Values("Content-Type")
	if len(values) != 1 {
		return false
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "application/json" {
		return false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false
	}
	return true
}

// readBody reads the whole body through the size limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Error) {
	if r.ContentLength > limit {
		return nil, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, msgTooLarge, "", nil)
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, newError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, msgTooLarge, "", err)
		}
		return nil, badRequest("the request body could not be read", err)
	}
	return b, nil
}

func badRequest(msg string, cause error) *Error {
	return newError(http.StatusBadRequest, CodeInvalidRequest, msg, "", cause)
}

// decodeStart decodes the body of POST /{vendor}/start into req's params.
func decodeStart(body []byte, req *broker.Request) *Error {
	switch req.Vendor {
	case broker.Entrupy:
		var in entrupyBody
		if e := decode(body, &in); e != nil {
			return e
		}
		// Always set, so that an empty body gets the broker's message
		// naming the missing field.
		req.Entrupy = &broker.EntrupyParams{SDKAuthorizationRequest: in.SDKAuthorizationRequest, Email: in.Email,
			FirstName: in.FirstName, LastName: in.LastName}
	case broker.IDV:
		var in idvBody
		if e := decode(body, &in); e != nil {
			return e
		}
		if in.TTL < 0 || in.TTL > math.MaxInt64/int64(time.Second) {
			return badRequest("invalid ttl: must be whole seconds within the IDV limits", nil)
		}
		if in.WorkflowID != "" || len(in.Metadata) > 0 || in.TTL != 0 {
			req.IDV = &broker.IDVParams{WorkflowID: in.WorkflowID, Metadata: in.Metadata, TTL: time.Duration(in.TTL) * time.Second}
		}
	case broker.Uqudo:
		var in uqudoBody
		if e := decode(body, &in); e != nil {
			return e
		}
		if in.Data != nil {
			req.Uqudo = &broker.UqudoParams{Data: *in.Data}
		}
	default:
		return decode(body, &emptyBody{})
	}
	return nil
}

// decode checks the body (UTF-8, one JSON object, no duplicate keys, no
// user named, nothing after it) and decodes it into v, refusing unknown
// fields. An empty (or all-whitespace) body is {}.
func decode(body []byte, v any) *Error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if !utf8.Valid(body) {
		return badRequest("the body is not valid UTF-8", nil)
	}
	if e := checkSyntax(body); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			msg := "a field of the body has the wrong type"
			if f := safeToken(typeErr.Field); f != "" {
				msg = "field " + strconv.Quote(f) + " has the wrong type"
			}
			return badRequest(msg, err)
		}
		const unknown = "json: unknown field "
		if s := err.Error(); strings.HasPrefix(s, unknown) {
			msg := "the body has a field this endpoint does not take"
			if name, uerr := strconv.Unquote(strings.TrimPrefix(s, unknown)); uerr == nil && safeToken(name) != "" {
				msg += ": " + strconv.Quote(name)
			}
			return badRequest(msg, err)
		}
		return badRequest("the body could not be decoded", err)
	}
	return nil
}

// checkSyntax walks the JSON tokens of body: it must be one object, nested
// at most maxDepth deep, with no key twice in one object (keys differing
// only in case count as the same key, since encoding/json matches them
// case-insensitively), no top-level key that names a user, and nothing
// after it.
func checkSyntax(body []byte) *Error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return badRequest("the body is not valid JSON", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badRequest("the body must be a JSON object", nil)
	}
	if e := walkObject(dec, 1); e != nil {
		return e
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body has data after the JSON object", err)
	}
	return nil
}

// walkObject reads the rest of an object whose '{' was read.
func walkObject(dec *json.Decoder, depth int) *Error {
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badRequest("the body is not valid JSON", err)
		}
		key, ok := tok.(string)
		if !ok {
			return badRequest("the body is not valid JSON", nil)
		}
		if depth == 1 && namesUser(key) {
			return badRequest("the body must not name a user: the server takes the user from its own authentication", nil)
		}
		k := foldKey(key)
		if _, dup := seen[k]; dup {
			msg := "the body has a duplicate key"
			if s := safeToken(key); s != "" {
				msg += ": " + strconv.Quote(s)
			}
			return badRequest(msg, nil)
		}
		seen[k] = struct{}{}
		if e := walkValue(dec, depth); e != nil {
			return e
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return badRequest("the body is not valid JSON", err)
	}
	return nil
}

// walkValue reads one value inside a container at depth.
func walkValue(dec *json.Decoder, depth int) *Error {
	tok, err := dec.Token()
	if err != nil {
		return badRequest("the body is not valid JSON", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return badRequest("the body is nested too deeply", nil)
	}
	switch d {
	case '{':
		return walkObject(dec, depth+1)
	case '[':
		for dec.More() {
			if e := walkValue(dec, depth+1); e != nil {
				return e
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return badRequest("the body is not valid JSON", err)
		}
	}
	return nil
}

// namesUser reports whether a top-level key names a user, such as
// "user_id", "userId", "user", "external_id" or "unique_user_id".
func namesUser(key string) bool {
	k := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, key)
	switch k {
	case "user", "userid", "uid", "externalid", "externaluserid", "uniqueuserid", "useridentifier":
		return true
	}
	return false
}

// foldKey maps key to one spelling per case-insensitive class: each rune
// becomes the smallest rune of its simple case-folding orbit (so "K", "k"
// and the Kelvin sign agree, as encoding/json's matching does).
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		return m
	}, key)
}
