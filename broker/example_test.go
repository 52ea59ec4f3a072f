package broker_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/sdkbroker/sdkbroker/broker"
	"github.com/sdkbroker/sdkbroker/entrupy"
	"github.com/sdkbroker/sdkbroker/entrupy/entrupytest"
	"github.com/sdkbroker/sdkbroker/idv"
	"github.com/sdkbroker/sdkbroker/idv/idvtest"
	"github.com/sdkbroker/sdkbroker/sentiance"
	"github.com/sdkbroker/sdkbroker/sentiance/sentiancetest"
	"github.com/sdkbroker/sdkbroker/uqudo"
	"github.com/sdkbroker/sdkbroker/uqudo/uqudotest"
)

// Entrupy: the backend signs the SDK's authorization request; a second
// Start for the same user and request reuses the signed request.
func Example_entrupy() {
	srv := httptest.NewServer(entrupytest.New(entrupytest.WithAPIToken("entrupy-api-token")))
	defer srv.Close()
	client, err := entrupy.NewClient(entrupy.Credentials{APIToken: "entrupy-api-token"}, entrupy.WithBaseURL(srv.URL))
	if err != nil {
		panic(err)
	}
	b, err := broker.New(broker.WithEntrupy(client))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	req := broker.Request{Vendor: broker.Entrupy, UserID: "customer-1234", Entrupy: &broker.EntrupyParams{
		SDKAuthorizationRequest: "opaque-request-from-the-sdk", Email: "ann@example.com",
	}}
	for i := 0; i < 2; i++ {
		g, err := b.Start(context.Background(), req)
		if err != nil {
			panic(err)
		}
		fmt.Println(g.Vendor, g.UserID, g.Token != "", g.Reused, g.RefreshAfter.Before(g.ExpiresAt))
	}
	// Output:
	// entrupy customer-1234 true false true
	// entrupy customer-1234 true true true
}

// Sentiance: the backend asks for a user-creation code for its own user id;
// the app hands it to the SDK. The code never prints.
func Example_sentiance() {
	fake, err := sentiancetest.Start(sentiancetest.WithAPIKey("sentiance-api-key"))
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	client, err := sentiance.NewClient(sentiance.Credentials{APIKey: "sentiance-api-key"}, sentiance.WithBaseURL(fake.URL))
	if err != nil {
		panic(err)
	}
	b, err := broker.New(broker.WithSentiance(client))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	g, err := b.Start(context.Background(), broker.Request{Vendor: broker.Sentiance, UserID: "customer-1234"})
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Vendor, g.Token != "", g.Reused)
	fmt.Println(strings.Contains(fmt.Sprintf("%+v", g), g.Token))
	// Output:
	// sentiance true false
	// false
}

// IDV: one Start creates the ephemeral device and the workflow session and
// builds the handoff URL; a double tap gets the same session.
func Example_idv() {
	srv := httptest.NewServer(idvtest.New(idvtest.WithAPIKey("idv-api-key")))
	defer srv.Close()
	client, err := idv.NewClient(srv.URL, idv.Credentials{APIKey: "idv-api-key"}, idv.WithInsecureHTTP())
	if err != nil {
		panic(err)
	}
	b, err := broker.New(broker.WithIDV(client, broker.IDVParams{WorkflowID: "kyc-basic"}))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	first, err := b.Start(context.Background(), broker.Request{Vendor: broker.IDV, UserID: "customer-1234"})
	if err != nil {
		panic(err)
	}
	second, err := b.Start(context.Background(), broker.Request{Vendor: broker.IDV, UserID: "customer-1234"})
	if err != nil {
		panic(err)
	}
	fmt.Println(first.SessionID == second.SessionID, second.Reused)
	fmt.Println(strings.HasPrefix(first.HandoffURL, srv.URL+"/capture?url="))
	// Output:
	// true true
	// true
}

// uqudo: Start creates a QR session from the session data; the app renders
// QRCodeText (or opens QRCodeTextWithDynamicLink).
func Example_uqudo() {
	fake := uqudotest.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := uqudo.NewClient(fake.Credentials(), uqudo.WithBaseURL(srv.URL))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	data := uqudo.SessionData{Documents: []uqudo.Document{{DocumentType: uqudo.DocumentTypePassport}}}
	b, err := broker.New(broker.WithUqudo(client, broker.UqudoParams{Data: data}))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	g, err := b.Start(context.Background(), broker.Request{Vendor: broker.Uqudo, UserID: "customer-1234"})
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Vendor, g.SessionID != "", g.QRCodeText != "", g.ExpiresAt.Sub(g.RefreshAfter) > 0)
	// Output:
	// uqudo true true true
}
