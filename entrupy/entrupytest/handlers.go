package entrupytest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sdkbroker/sdkbroker/entrupy"
)

// authorizeUser serves entrupy.RouteAuthorizeUser.
func (f *Fake) authorizeUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SDKAuthorizationRequest *string `json:"sdk_authorization_request"`
		UniqueUserID            *string `json:"unique_user_id"`
		Email                   *string `json:"email"`
		FirstName               *string `json:"first_name"`
		LastName                *string `json:"last_name"`
	}
	if readJSON(w, r, &body) != nil {
		return
	}
	switch {
	case strings.TrimSpace(str(body.SDKAuthorizationRequest)) == "":
		invalid(w, "sdk_authorization_request", "This field is required.")
		return
	case body.UniqueUserID == nil || *body.UniqueUserID == "":
		invalid(w, "unique_user_id", "This field is required.")
		return
	case !validUniqueUserID(*body.UniqueUserID):
		invalid(w, "unique_user_id", "Must be 8 to 40 characters of A-Z, a-z, 0-9 and @.+_-.")
		return
	case str(body.Email) == "":
		invalid(w, "email", "This field is required.")
		return
	case !validEmail(*body.Email):
		invalid(w, "email", "Enter a valid email address.")
		return
	}
	uid := *body.UniqueUserID
	signed := randomToken("sr1.")

	f.mu.Lock()
	u, ok := f.users[uid]
	if !ok {
		// Names are fixed on the first call, as Entrupy documents.
		u = &User{UniqueUserID: uid, Email: *body.Email, FirstName: str(body.FirstName), LastName: str(body.LastName),
			Username: "entrupy_" + strings.ToLower(uid)}
		f.users[uid] = u
	}
	u.Authorizations++
	f.signed[signed] = uid
	now := f.now()
	username := u.Username
	f.mu.Unlock()

	resp := map[string]any{"signed_authorization_request": signed, "username": username}
	if !f.omitExpiry {
		exp := now.Add(f.lifetime)
		resp["exp"] = exp.Unix()
		resp["soft_exp"] = exp.Add(-f.softWindow).Unix()
	}
	writeJSON(w, http.StatusOK, resp)
}

func validUniqueUserID(id string) bool {
	if len(id) < 8 || len(id) > 40 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@.+_-", c)) {
			return false
		}
	}
	return true
}

func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(e, " \t\r\n<>") && !strings.Contains(domain, "@")
}

// getAuthentication serves entrupy.RouteGetAuthentication.
func (f *Fake) getAuthentication(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("entrupy_id")
	f.mu.Lock()
	var a *entrupy.Authentication
	if it, ok := f.items[id]; ok && it.auth != nil {
		c := *it.auth
		a = &c
	}
	f.mu.Unlock()
	if a == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "Not found.")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// lookupAuthentication serves entrupy.RouteLookupAuthentication.
func (f *Fake) lookupAuthentication(w http.ResponseWriter, r *http.Request) {
	cid := r.PathValue("customer_item_id")
	f.mu.Lock()
	var a *entrupy.Authentication
	for _, it := range f.items {
		if it.auth != nil && it.auth.CustomerItemID == cid {
			c := *it.auth
			a = &c
			break
		}
	}
	f.mu.Unlock()
	if a == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "Not found.")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// listMessages serves entrupy.RouteListSupportMessages.
func (f *Fake) listMessages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("entrupy_id")
	q := r.URL.Query()
	limit := f.pageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			invalid(w, "limit", "Must be an integer from 1 to "+strconv.Itoa(MaxPageSize)+".")
			return
		}
		limit = n
	}
	offset := 0
	if v := q.Get("cursor"); v != "" {
		n, ok := decodeCursor(v)
		if !ok {
			invalid(w, "cursor", "Invalid cursor.")
			return
		}
		offset = n
	}
	f.mu.Lock()
	it, ok := f.items[id]
	var page entrupy.SupportMessagePage
	if ok {
		msgs := it.messages
		start := min(offset, len(msgs))
		end := min(start+limit, len(msgs))
		page.Messages = slices.Clone(msgs[start:end])
		page.StructuredResponses = slices.Clone(it.responses)
		if end < len(msgs) {
			page.NextCursor = encodeCursor(end)
		}
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, CodeNotFound, "Not found.")
		return
	}
	if page.Messages == nil {
		page.Messages = []entrupy.Message{}
	}
	if page.StructuredResponses == nil {
		page.StructuredResponses = []entrupy.StructuredResponse{}
	}
	writeJSON(w, http.StatusOK, page)
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	v, ok := strings.CutPrefix(string(b), "offset:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

// postMessage serves entrupy.RoutePostSupportMessage.
func (f *Fake) postMessage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("entrupy_id")
	var body struct {
		Text       string `json:"text"`
		ResponseID string `json:"response_id"`
	}
	if readJSON(w, r, &body) != nil {
		return
	}
	hasText, hasID := strings.TrimSpace(body.Text) != "", body.ResponseID != ""
	if hasText == hasID {
		invalid(w, "text", "Give exactly one of text and response_id.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[id]
	if !ok {
		writeError(w, http.StatusNotFound, CodeNotFound, "Not found.")
		return
	}
	m := entrupy.Message{Sender: entrupy.SenderUser, Text: body.Text, ResponseID: body.ResponseID}
	if hasID {
		i := slices.IndexFunc(it.responses, func(s entrupy.StructuredResponse) bool { return s.ID == body.ResponseID })
		if i < 0 {
			invalid(w, "response_id", "Not one of the responses offered.")
			return
		}
		m.Text = it.responses[i].Text
		it.responses = nil
	}
	m.ID = f.nextID("msg")
	m.CreatedAt = f.now().UTC().Truncate(time.Second)
	it.messages = append(it.messages, m)
	it.replies = append(it.replies, m)
	writeJSON(w, http.StatusCreated, m)
}

// escalate serves entrupy.RouteEscalate.
func (f *Fake) escalate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		EntrupyID      string `json:"entrupy_id"`
		CustomerItemID string `json:"customer_item_id"`
		Reason         string `json:"reason"`
	}
	if readJSON(w, r, &body) != nil {
		return
	}
	for _, fld := range []struct{ name, v string }{
		{"entrupy_id", body.EntrupyID}, {"customer_item_id", body.CustomerItemID}, {"reason", body.Reason},
	} {
		if strings.TrimSpace(fld.v) == "" {
			invalid(w, fld.name, "This field is required.")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[body.EntrupyID]
	if !ok {
		writeError(w, http.StatusNotFound, CodeNotFound, "Not found.")
		return
	}
	if it.auth != nil && it.auth.CustomerItemID != "" && it.auth.CustomerItemID != body.CustomerItemID {
		invalid(w, "customer_item_id", "Does not match the item.")
		return
	}
	for _, e := range f.escalations {
		if e.EntrupyID == body.EntrupyID && e.Status == entrupy.EscalationOpen {
			writeError(w, http.StatusConflict, CodeConflict, "The item is already escalated.")
			return
		}
	}
	e := entrupy.Escalation{
		ID: f.nextID("esc"), EntrupyID: body.EntrupyID, CustomerItemID: body.CustomerItemID, Reason: body.Reason,
		Status: entrupy.EscalationOpen, CreatedAt: f.now().UTC().Truncate(time.Second),
	}
	f.escalations = append(f.escalations, e)
	writeJSON(w, http.StatusCreated, e)
}
