package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sdkbroker/sdkbroker/broker"
)

// defaultAddr is where the server listens unless -addr or SDKSERVER_ADDR
// says otherwise: loopback only.
const defaultAddr = "127.0.0.1:8080"

// defaultIDVWorkflow is the IDV workflow of demo mode (the fake runs any).
const defaultIDVWorkflow = "sdkserver-demo"

// envVar documents one environment variable for -help.
type envVar struct{ name, help string }

// envVars lists every variable the server reads, in -help order.
var envVars = []envVar{
	{"SDKSERVER_ADDR", "listen address (default " + defaultAddr + "); -addr wins"},
	{"SDKSERVER_LOG_FORMAT", "text or json (default text); -log-format wins"},
	{"SDKSERVER_PSEUDONYM_KEY", "hex of 32+ random bytes keying the user ids vendors see (broker.PseudonymousIDs); required once a vendor uses its real API; demo: random per run"},
	{"ENTRUPY_API_TOKEN", "Entrupy API token: Entrupy uses its real API"},
	{"ENTRUPY_WEBHOOK_SECRET", "Entrupy webhook signing secret (without it /webhooks/entrupy is not served)"},
	{"SENTIANCE_API_KEY", "Sentiance API key (scope user.link): Sentiance uses its real API"},
	{"SENTIANCE_REGION", "eu, us or in (default eu)"},
	{"SENTIANCE_APP_ID", "Sentiance app id, answered to the Firehose URL check"},
	{"SENTIANCE_FIREHOSE_USERNAME", "Firehose Basic auth user name (with SENTIANCE_APP_ID and _PASSWORD; without them /webhooks/sentiance is not served)"},
	{"SENTIANCE_FIREHOSE_PASSWORD", "Firehose Basic auth password"},
	{"IDV_BASE_URL", "https URL of your IDV platform deployment; with IDV_API_KEY and IDV_WORKFLOW_ID, IDV uses it"},
	{"IDV_API_KEY", "IDV API key"},
	{"IDV_WORKFLOW_ID", "IDV workflow every session runs"},
	{"UQUDO_CLIENT_ID", "uqudo client id; with UQUDO_CLIENT_SECRET, uqudo uses its real API"},
	{"UQUDO_CLIENT_SECRET", "uqudo client secret"},
	{"UQUDO_WEBHOOK_USERNAME", "optional Basic auth user name of the uqudo webhook (with _PASSWORD)"},
	{"UQUDO_WEBHOOK_PASSWORD", "optional Basic auth password of the uqudo webhook"},
	{"UQUDO_WEBHOOK_HEADER", "optional header name the uqudo webhook must carry (with _HEADER_VALUE)"},
	{"UQUDO_WEBHOOK_HEADER_VALUE", "optional value of that header"},
}

// config is the parsed command line and environment. It holds secrets: it
// is never printed or logged.
type config struct {
	addr      string
	logFormat string
	// pseudonymKey keys broker.PseudonymousIDs; nil means a random key
	// (demo mode only).
	pseudonymKey []byte

	// A nil vendor config means that vendor runs on its in-process fake.
	entrupy   *entrupyConfig
	sentiance *sentianceConfig
	idv       *idvConfig
	uqudo     *uqudoConfig
}

type entrupyConfig struct {
	apiToken      string
	webhookSecret string // "" = webhook not served
}

type sentianceConfig struct {
	apiKey string
	region string
	// appID, username and password configure the Firehose; all empty =
	// not served.
	appID, username, password string
}

type idvConfig struct{ baseURL, apiKey, workflowID string }

type uqudoConfig struct {
	clientID, clientSecret string
	// Optional webhook checks, each pair both set or both empty.
	username, password, header, headerValue string
}

// demo reports whether every vendor runs on its fake.
func (c *config) demo() bool {
	return c.entrupy == nil && c.sentiance == nil && c.idv == nil && c.uqudo == nil
}

// fake reports whether vendor runs on its fake.
func (c *config) fake(v broker.Vendor) bool {
	switch v {
	case broker.Entrupy:
		return c.entrupy == nil
	case broker.Sentiance:
		return c.sentiance == nil
	case broker.IDV:
		return c.idv == nil
	case broker.Uqudo:
		return c.uqudo == nil
	}
	return false
}

// errHelp is returned by parseConfig for -help, after the usage was written.
var errHelp = flag.ErrHelp

// parseConfig reads the flags in args and the variables through getenv. It
// writes the usage to out for -help (and returns errHelp) or a flag error.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{addr: defaultAddr, logFormat: "text"}
	if v := getenv("SDKSERVER_ADDR"); v != "" {
		c.addr = v
	}
	if v := getenv("SDKSERVER_LOG_FORMAT"); v != "" {
		c.logFormat = v
	}
	fs := flag.NewFlagSet("sdkserver", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", c.addr, "listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&c.logFormat, "log-format", c.logFormat, "log `format`: text or json")
	fs.Usage = func() { usage(fs, out) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("-log-format must be text or json, not %q", c.logFormat)
	}
	if c.addr == "" {
		return nil, errors.New("-addr is empty")
	}

	var errs []error
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	// need reports the variables of group that are missing when any of
	// them is set; it returns whether the group is set at all.
	need := func(group ...string) bool {
		var set, missing []string
		for _, n := range group {
			if get(n) != "" {
				set = append(set, n)
			} else {
				missing = append(missing, n)
			}
		}
		if len(set) > 0 && len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s set without %s", strings.Join(set, ", "), strings.Join(missing, ", ")))
		}
		return len(set) > 0
	}
	// orphan reports variables of a vendor set while its credentials are not.
	orphan := func(primary string, others ...string) {
		for _, n := range others {
			if get(n) != "" {
				errs = append(errs, fmt.Errorf("%s is set but %s is not (the vendor runs on its fake)", n, primary))
			}
		}
	}

	if get("ENTRUPY_API_TOKEN") != "" {
		c.entrupy = &entrupyConfig{apiToken: get("ENTRUPY_API_TOKEN"), webhookSecret: get("ENTRUPY_WEBHOOK_SECRET")}
	} else {
		orphan("ENTRUPY_API_TOKEN", "ENTRUPY_WEBHOOK_SECRET")
	}

	if get("SENTIANCE_API_KEY") != "" {
		s := &sentianceConfig{apiKey: get("SENTIANCE_API_KEY"), region: get("SENTIANCE_REGION")}
		if s.region == "" {
			s.region = "eu"
		}
		if need("SENTIANCE_APP_ID", "SENTIANCE_FIREHOSE_USERNAME", "SENTIANCE_FIREHOSE_PASSWORD") {
			s.appID, s.username, s.password = get("SENTIANCE_APP_ID"), get("SENTIANCE_FIREHOSE_USERNAME"), get("SENTIANCE_FIREHOSE_PASSWORD")
		}
		c.sentiance = s
	} else {
		orphan("SENTIANCE_API_KEY", "SENTIANCE_REGION", "SENTIANCE_APP_ID", "SENTIANCE_FIREHOSE_USERNAME", "SENTIANCE_FIREHOSE_PASSWORD")
	}

	if need("IDV_BASE_URL", "IDV_API_KEY", "IDV_WORKFLOW_ID") {
		c.idv = &idvConfig{baseURL: get("IDV_BASE_URL"), apiKey: get("IDV_API_KEY"), workflowID: get("IDV_WORKFLOW_ID")}
	}

	if need("UQUDO_CLIENT_ID", "UQUDO_CLIENT_SECRET") {
		u := &uqudoConfig{clientID: get("UQUDO_CLIENT_ID"), clientSecret: get("UQUDO_CLIENT_SECRET")}
		if need("UQUDO_WEBHOOK_USERNAME", "UQUDO_WEBHOOK_PASSWORD") {
			u.username, u.password = get("UQUDO_WEBHOOK_USERNAME"), get("UQUDO_WEBHOOK_PASSWORD")
		}
		if need("UQUDO_WEBHOOK_HEADER", "UQUDO_WEBHOOK_HEADER_VALUE") {
			u.header, u.headerValue = get("UQUDO_WEBHOOK_HEADER"), get("UQUDO_WEBHOOK_HEADER_VALUE")
		}
		c.uqudo = u
	} else {
		orphan("UQUDO_CLIENT_ID", "UQUDO_WEBHOOK_USERNAME", "UQUDO_WEBHOOK_PASSWORD", "UQUDO_WEBHOOK_HEADER", "UQUDO_WEBHOOK_HEADER_VALUE")
	}

	if k := get("SDKSERVER_PSEUDONYM_KEY"); k != "" {
		key, err := hex.DecodeString(k)
		switch {
		case err != nil:
			errs = append(errs, errors.New("SDKSERVER_PSEUDONYM_KEY is not hex"))
		case len(key) < broker.MinPseudonymKeyLen:
			errs = append(errs, fmt.Errorf("SDKSERVER_PSEUDONYM_KEY must hold at least %d bytes (%d hex digits)", broker.MinPseudonymKeyLen, 2*broker.MinPseudonymKeyLen))
		default:
			c.pseudonymKey = key
		}
	} else if !c.demo() {
		errs = append(errs, errors.New("SDKSERVER_PSEUDONYM_KEY is required once a vendor uses its real API: a random key per run would give every user new vendor-side ids at each restart (generate one with: openssl rand -hex 32)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// usage writes -help: the flags, then every environment variable.
func usage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprintf(out, `Usage: sdkserver [flags]

A sample SDK management server over sdkbroker: the endpoints a mobile app
calls to start a vendor SDK for its logged-in user, the vendors' webhooks
attributed to users, and a page at / to try it. With no vendor credentials
in the environment it runs in demo mode on in-process fakes of all four
vendors. The login is a demo login: replace it with your authentication.

Flags:
`)
	fs.PrintDefaults()
	fmt.Fprintf(out, "\nEnvironment (a vendor uses its real API when its credentials are set, else its fake):\n")
	for _, v := range envVars {
		fmt.Fprintf(out, "  %s\n    \t%s\n", v.name, v.help)
	}
}

// newLogger returns the server's logger writing to w in format.
func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
