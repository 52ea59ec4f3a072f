package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sdkbroker/sdkbroker/broker"
)

var testKey = strings.Repeat("0f", 32)

// TestParseConfig_Modes: which vendors are real follows the variables set.
func TestParseConfig_Modes(t *testing.T) {
	c, err := parseConfig(nil, envOf(nil), &bytes.Buffer{})
	require.NoError(t, err)
	assert.True(t, c.demo())
	assert.Equal(t, defaultAddr, c.addr)
	assert.Nil(t, c.pseudonymKey, "demo: a random key per run")

	c, err = parseConfig(nil, envOf(map[string]string{
		"SDKSERVER_PSEUDONYM_KEY": testKey,
		"SENTIANCE_API_KEY":       "k", "SENTIANCE_REGION": "us",
		"IDV_BASE_URL": "https://idv.example.com", "IDV_API_KEY": "k", "IDV_WORKFLOW_ID": "wf",
		"UQUDO_CLIENT_ID": "id", "UQUDO_CLIENT_SECRET": "s", "UQUDO_WEBHOOK_HEADER": "X-T", "UQUDO_WEBHOOK_HEADER_VALUE": "v",
	}), &bytes.Buffer{})
	require.NoError(t, err)
	assert.False(t, c.demo())
	assert.True(t, c.fake(broker.Entrupy))
	for _, v := range []broker.Vendor{broker.Sentiance, broker.IDV, broker.Uqudo} {
		assert.False(t, c.fake(v), v)
	}
	assert.Equal(t, "us", c.sentiance.region)
	assert.Empty(t, c.sentiance.appID, "no Firehose configured")
	assert.Equal(t, "wf", c.idv.workflowID)
	assert.Equal(t, "X-T", c.uqudo.header)
	assert.Len(t, c.pseudonymKey, 32)
}

// TestParseConfig_AddrPrecedence: -addr wins over SDKSERVER_ADDR, which wins
// over the default.
func TestParseConfig_AddrPrecedence(t *testing.T) {
	c, err := parseConfig(nil, envOf(map[string]string{"SDKSERVER_ADDR": "127.0.0.1:9000"}), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000", c.addr)
	c, err = parseConfig([]string{"-addr", "127.0.0.1:9001"}, envOf(map[string]string{"SDKSERVER_ADDR": "127.0.0.1:9000"}), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9001", c.addr)
}

// TestParseConfig_Errors: half-set vendors, a missing or bad pseudonym key
// and bad flags are refused with a message naming the variable, never its
// value.
func TestParseConfig_Errors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"idv without key", map[string]string{"IDV_BASE_URL": "https://x", "IDV_WORKFLOW_ID": "w", "SDKSERVER_PSEUDONYM_KEY": testKey}, nil, "IDV_API_KEY"},
		{"uqudo without secret", map[string]string{"UQUDO_CLIENT_ID": "id-secretish", "SDKSERVER_PSEUDONYM_KEY": testKey}, nil, "UQUDO_CLIENT_SECRET"},
		{"uqudo half a header check", map[string]string{"UQUDO_CLIENT_ID": "i", "UQUDO_CLIENT_SECRET": "s", "UQUDO_WEBHOOK_HEADER": "X", "SDKSERVER_PSEUDONYM_KEY": testKey}, nil, "UQUDO_WEBHOOK_HEADER_VALUE"},
		{"uqudo password without user", map[string]string{"UQUDO_CLIENT_ID": "i", "UQUDO_CLIENT_SECRET": "s", "UQUDO_WEBHOOK_PASSWORD": "p", "SDKSERVER_PSEUDONYM_KEY": testKey}, nil, "UQUDO_WEBHOOK_USERNAME"},
		{"entrupy secret without token", map[string]string{"ENTRUPY_WEBHOOK_SECRET": "whsec-value"}, nil, "ENTRUPY_API_TOKEN"},
		{"sentiance half a firehose", map[string]string{"SENTIANCE_API_KEY": "k", "SENTIANCE_APP_ID": "a", "SDKSERVER_PSEUDONYM_KEY": testKey}, nil, "SENTIANCE_FIREHOSE_PASSWORD"},
		{"region without key", map[string]string{"SENTIANCE_REGION": "us"}, nil, "SENTIANCE_API_KEY"},
		{"real vendor without pseudonym key", map[string]string{"ENTRUPY_API_TOKEN": "tok-value"}, nil, "SDKSERVER_PSEUDONYM_KEY is required"},
		{"short key", map[string]string{"SDKSERVER_PSEUDONYM_KEY": "abcd"}, nil, "at least 32 bytes"},
		{"key not hex", map[string]string{"SDKSERVER_PSEUDONYM_KEY": "zz-not-hex"}, nil, "not hex"},
		{"log format", nil, []string{"-log-format", "xml"}, "-log-format"},
		{"argument", nil, []string{"extra"}, "unexpected argument"},
		{"flag", nil, []string{"-nope"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseConfig(c.args, envOf(c.env), &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			for _, secret := range []string{"id-secretish", "whsec-value", "tok-value", "zz-not-hex"} {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

// TestRun_ConfigError: run refuses to start on a bad configuration, before
// listening.
func TestRun_ConfigError(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, envOf(map[string]string{"IDV_API_KEY": "k"}), &bytes.Buffer{}, func(string) {
		t.Error("served despite a bad configuration")
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "IDV_BASE_URL")
}
