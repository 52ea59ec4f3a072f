package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

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

// vendors holds the broker, the vendor clients it runs on, the fakes of
// the vendors in demo mode, and each webhook's configuration.
type vendors struct {
	broker *broker.Broker

	idv   *idv.Client   // for POST /v1/idv/result
	uqudo *uqudo.Client // its Verifier checks the webhook's results

	// The fakes; nil for a vendor on its real API.
	entrupyFake   *entrupytest.Server
	sentianceFake *sentiancetest.Server
	idvFake       *idvtest.Server
	uqudoFake     *uqudotest.Server

	// Webhook configurations; nil (or "" for Entrupy) = not served.
	entrupySecret string
	firehose      *sentiance.FirehoseConfig
	uqudoHook     *uqudo.WebhookConfig

	closers []func()
}

// randomHex returns n random bytes as hex, for demo secrets and keys.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b)
}

// newVendors builds each vendor's client (its fake's when cfg has no
// credentials for it) and a broker over them.
func newVendors(cfg *config, logger *slog.Logger) (_ *vendors, err error) {
	v := &vendors{}
	defer func() {
		if err != nil {
			v.Close()
		}
	}()
	bopts := []broker.Option{broker.WithLogger(logger)}

	key := cfg.pseudonymKey
	if key == nil {
		key = make([]byte, broker.MinPseudonymKeyLen)
		_, _ = rand.Read(key)
	}
	ids, err := broker.PseudonymousIDs(key)
	if err != nil {
		return nil, err
	}
	bopts = append(bopts, broker.WithUserIDs(ids))

	// Entrupy.
	var ec *entrupy.Client
	if c := cfg.entrupy; c != nil {
		ec, err = entrupy.NewClient(entrupy.Credentials{APIToken: c.apiToken}, entrupy.WithLogger(logger))
		v.entrupySecret = c.webhookSecret
	} else {
		if v.entrupyFake, err = entrupytest.Start(); err != nil {
			return nil, fmt.Errorf("entrupy fake: %w", err)
		}
		v.closers = append(v.closers, v.entrupyFake.Close)
		ec, err = v.entrupyFake.NewClient()
		v.entrupySecret = randomHex(32)
	}
	if err != nil {
		return nil, fmt.Errorf("entrupy: %w", err)
	}
	v.closers = append(v.closers, ec.Close)
	bopts = append(bopts, broker.WithEntrupy(ec))

	// Sentiance.
	var sc *sentiance.Client
	if c := cfg.sentiance; c != nil {
		sc, err = sentiance.NewClient(sentiance.Credentials{APIKey: c.apiKey},
			sentiance.WithRegion(sentiance.Region(c.region)), sentiance.WithLogger(logger))
		if c.appID != "" {
			v.firehose = &sentiance.FirehoseConfig{AppID: c.appID, Username: c.username, Password: c.password}
		}
	} else {
		if v.sentianceFake, err = sentiancetest.Start(); err != nil {
			return nil, fmt.Errorf("sentiance fake: %w", err)
		}
		v.closers = append(v.closers, v.sentianceFake.Close)
		sc, err = v.sentianceFake.NewClient()
		v.firehose = &sentiance.FirehoseConfig{AppID: "sdkserver-demo", Username: "sentiance-demo", Password: randomHex(16)}
	}
	if err != nil {
		return nil, fmt.Errorf("sentiance: %w", err)
	}
	v.closers = append(v.closers, sc.Close)
	bopts = append(bopts, broker.WithSentiance(sc))

	// IDV.
	workflow := defaultIDVWorkflow
	if c := cfg.idv; c != nil {
		workflow = c.workflowID
		v.idv, err = idv.NewClient(c.baseURL, idv.Credentials{APIKey: c.apiKey}, idv.WithLogger(logger))
	} else {
		if v.idvFake, err = idvtest.Start(); err != nil {
			return nil, fmt.Errorf("idv fake: %w", err)
		}
		v.closers = append(v.closers, v.idvFake.Close)
		v.idv, err = v.idvFake.NewClient()
	}
	if err != nil {
		return nil, fmt.Errorf("idv: %w", err)
	}
	v.closers = append(v.closers, v.idv.Close)
	bopts = append(bopts, broker.WithIDV(v.idv, broker.IDVParams{WorkflowID: workflow}))

	// uqudo.
	hook := uqudo.WebhookConfig{}
	if c := cfg.uqudo; c != nil {
		v.uqudo, err = uqudo.NewClient(uqudo.Credentials{ClientID: c.clientID, ClientSecret: c.clientSecret}, uqudo.WithLogger(logger))
		hook.Username, hook.Password, hook.Header, hook.HeaderValue = c.username, c.password, c.header, c.headerValue
	} else {
		if v.uqudoFake, err = uqudotest.Start(); err != nil {
			return nil, fmt.Errorf("uqudo fake: %w", err)
		}
		v.closers = append(v.closers, v.uqudoFake.Close)
		v.uqudo, err = v.uqudoFake.NewClient()
		hook.Header, hook.HeaderValue = demoUqudoHeader, randomHex(16)
	}
	if err != nil {
		return nil, fmt.Errorf("uqudo: %w", err)
	}
	v.closers = append(v.closers, v.uqudo.Close)
	hook.Verifier = v.uqudo.Verifier()
	v.uqudoHook = &hook
	bopts = append(bopts, broker.WithUqudo(v.uqudo, broker.UqudoParams{Data: uqudo.NewSessionData(uqudo.DocumentTypePassport)}))

	if v.broker, err = broker.New(bopts...); err != nil {
		return nil, err
	}
	return v, nil
}

// demoUqudoHeader is the header the demo's uqudo webhook requires (uqudo's
// portal lets you configure one).
const demoUqudoHeader = "X-Webhook-Token"

// Close closes the broker, then the clients and fakes in reverse order of
// creation. It is safe to call twice.
func (v *vendors) Close() {
	if v.broker != nil {
		v.broker.Close()
		v.broker = nil
	}
	for i := len(v.closers) - 1; i >= 0; i-- {
		v.closers[i]()
	}
	v.closers = nil
}

// fakeVendors lists the vendors running on a fake.
func (v *vendors) fakeVendors() []broker.Vendor {
	var out []broker.Vendor
	if v.entrupyFake != nil {
		out = append(out, broker.Entrupy)
	}
	if v.sentianceFake != nil {
		out = append(out, broker.Sentiance)
	}
	if v.idvFake != nil {
		out = append(out, broker.IDV)
	}
	if v.uqudoFake != nil {
		out = append(out, broker.Uqudo)
	}
	return out
}

// isFake reports whether vendor runs on its fake.
func (v *vendors) isFake(vendor broker.Vendor) bool {
	for _, f := range v.fakeVendors() {
		if f == vendor {
			return true
		}
	}
	return false
}

var errNoVendor = errors.New("unknown vendor")
