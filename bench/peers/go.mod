module github.com/sdkbroker/sdkbroker/bench/peers

go 1.26.0

replace github.com/sdkbroker/sdkbroker => ../..

require (
	github.com/jellydator/ttlcache/v3 v3.4.1
	github.com/maypok86/otter/v2 v2.4.0
	github.com/sdkbroker/sdkbroker v0.0.0-00010101000000-000000000000
	golang.org/x/oauth2 v0.38.0
	golang.org/x/sync v0.25.0
)
