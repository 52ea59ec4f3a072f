package sdkbroker_test

// The registry of exported types that hold secrets (issue 16, item 1): the
// test reads the exported types of every public package of the module from
// the compiler's export data (go list -export, then go/types), finds every
// type that holds, in a field at any depth inside this module's types, text
// whose field name looks like a secret, and fails until each such type is
// listed below with its intent. A listed data type lists each such field as
// secret or plain, so a new field on a listed type fails too. Every type
// with a secret must have a case in secretCases (secrets_test.go), where
// fmt, slog and json are checked.

import (
	"bufio"
	"bytes"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

const modulePath = "github.com/sdkbroker/sdkbroker"

// secretFieldName matches the names of fields that may hold a secret; a
// field whose name ends in ID, URL or Path is an identifier or an address,
// not a secret, and is not matched.
var (
	secretFieldName = regexp.MustCompile(`(?i)token|secret|passw|key|code|authoriz|sign|request|cred|cookie|bearer`)
	notSecretSuffix = regexp.MustCompile(`(ID|URL|Path|Type)$`)
)

// intent says what a type that holds a secret is for.
type intent int

const (
	// intentConfig: the app hands the secret in (credentials, webhook
	// settings, request params): no fmt verb, slog record or json.Marshal
	// shows it.
	intentConfig intent = iota + 1
	// intentApp: the type carries a secret to the app (a grant, an SDK
	// token): its JSON is how the app gets it; no fmt verb or slog record
	// shows it.
	intentApp
	// intentStore: the type carries a secret to a cache or a Store, which
	// must keep it: its JSON carries it; no fmt verb or slog record shows it.
	intentStore
	// intentHolder: an object that holds secrets inside (a client, a
	// broker, a store of grants, a fake): no fmt verb or slog record shows
	// them; its JSON is not a use (it is checked to hold none either). A
	// holder may keep them where the name rule cannot see (a closure):
	// it is listed by hand, and stays listed.
	intentHolder
	// intentPlain: the fields the name rule matched are not secrets (each
	// entry says why); nothing is checked.
	intentPlain
)

func (i intent) String() string {
	return map[intent]string{intentConfig: "config", intentApp: "app", intentStore: "store",
		intentHolder: "holder", intentPlain: "none"}[i]
}

// holding describes one registered type: its intent, and for data types
// (every intent but holder) the fields the name rule matches, split into
// secrets and plain values (space-separated paths, as secretFields gives
// them).
type holding struct {
	intent intent
	secret string
	plain  string
	why    string
}

// secretHolders is the registry, keyed by package name and type name. A
// type reached through an alias (every vendor's APIError is httpx's) is
// listed under its own name.
var secretHolders = map[string]holding{
	// Credentials and settings the app hands in.
	"entrupy.Credentials":         {intent: intentConfig, secret: "APIToken"},
	"entrupy.WebhookConfig":       {intent: intentConfig, secret: "Secret"},
	"entrupy.AuthorizeUserParams": {intent: intentConfig, secret: "SDKAuthorizationRequest"},
	"sentiance.Credentials":       {intent: intentConfig, secret: "APIKey"},
	"sentiance.FirehoseConfig":    {intent: intentConfig, secret: "Password"},
	"idv.Credentials":             {intent: intentConfig, secret: "APIKey"},
	"uqudo.Credentials":           {intent: intentConfig, secret: "ClientSecret"},
	"uqudo.WebhookConfig":         {intent: intentConfig, secret: "Password", why: "also HeaderValue, which the name rule does not match; secretCases sets it"},
	"broker.EntrupyParams":        {intent: intentConfig, secret: "SDKAuthorizationRequest"},
	"broker.Request":              {intent: intentConfig, secret: "Entrupy.SDKAuthorizationRequest"},

	// What the app (or a cache) is handed.
	"entrupy.SDKToken":   {intent: intentApp, secret: "SignedRequest"},
	"sentiance.AuthCode": {intent: intentApp, secret: "Code"},
	"idv.EphemeralDevice": {intent: intentConfig, secret: "Token",
		why: "the device token travels to the app inside a Handoff or a Grant; the device itself is not for the app"},
	"idv.Handoff":        {intent: intentApp, secret: "Device.Token"},
	"uqudo.AccessToken":  {intent: intentStore, secret: "Token", why: "a server-side token: its JSON is for a token cache, never for the app"},
	"broker.Grant":       {intent: intentApp, secret: "Token", plain: "QRCodeText QRCodeTextWithDynamicLink"},
	"broker.StoredGrant": {intent: intentStore, secret: "Grant.Token", plain: "Grant.QRCodeText Grant.QRCodeTextWithDynamicLink"},

	// Objects that hold secrets inside.
	"entrupy.Client":       {intent: intentHolder},
	"sentiance.Client":     {intent: intentHolder},
	"idv.Client":           {intent: intentHolder},
	"uqudo.Client":         {intent: intentHolder},
	"uqudo.Verifier":       {intent: intentHolder},
	"broker.Broker":        {intent: intentHolder},
	"broker.MemoryStore":   {intent: intentHolder},
	"brokertest.Env":       {intent: intentHolder},
	"entrupytest.Fake":     {intent: intentHolder},
	"entrupytest.Server":   {intent: intentHolder},
	"sentiancetest.Fake":   {intent: intentHolder},
	"sentiancetest.Server": {intent: intentHolder},
	"idvtest.Fake":         {intent: intentHolder},
	"idvtest.Server":       {intent: intentHolder},
	"uqudotest.Fake":       {intent: intentHolder},
	"uqudotest.Server":     {intent: intentHolder},

	// Fields the name rule matches that hold no secret.
	"httpx.APIError":        {intent: intentPlain, plain: "Code", why: "the vendor's error code (Body and Message are scrubbed; checked by the call sweep)"},
	"uqudo.Session":         {intent: intentPlain, plain: "QRCodeText QRCodeTextWithDynamicLink", why: "QR texts are shown to the user and name the session in DELETE /api/v1/session/{qrCodeText}"},
	"brokerhttp.Error":      {intent: intentPlain, plain: "Code", why: "the handler's error code"},
	"entrupytest.Failure":   {intent: intentPlain, plain: "Code", why: "an injected error code"},
	"sentiancetest.Failure": {intent: intentPlain, plain: "Code", why: "an injected error code"},
	"idvtest.Failure":       {intent: intentPlain, plain: "Code", why: "an injected error code"},
	"uqudotest.Failure":     {intent: intentPlain, plain: "Code", why: "an injected error code"},
}

// exportedType is one exported type of a public package of the module.
type exportedType struct {
	name   string   // package name + "." + type name
	fields []string // paths of the fields the name rule matches
	direct []string // ... of those, the ones reached through exported fields only
}

var (
	exportedTypesOnce sync.Once
	exportedTypesList []exportedType
	exportedTypesErr  error
)

// moduleExportedTypes lists the exported types (aliases resolved to the
// type they name) of every public, non-main package of the module.
func moduleExportedTypes(t *testing.T) []exportedType {
	t.Helper()
	exportedTypesOnce.Do(func() { exportedTypesList, exportedTypesErr = loadExportedTypes() })
	if exportedTypesErr != nil {
		t.Fatal(exportedTypesErr)
	}
	return exportedTypesList
}

// goCommand is the go command: on the PATH, else beside the test's
// GOROOT (go test sets GOROOT in the test's environment).
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

func loadExportedTypes() ([]exportedType, error) {
	cmd := exec.Command(goCommand(), "list", "-e", "-export", "-deps",
		"-f", "{{.ImportPath}}\t{{.Export}}\t{{.Name}}\t{{if .Error}}{{.Error}}{{end}}", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export: %v: %s", err, stderr.String())
	}
	exports := map[string]string{}
	var public []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			continue
		}
		path, export, name, perr := f[0], f[1], f[2], f[3]
		exports[path] = export
		if path != modulePath && !strings.HasPrefix(path, modulePath+"/") {
			continue
		}
		if strings.Contains(path+"/", "/internal/") || name == "main" || path == modulePath {
			continue
		}
		if perr != "" || export == "" {
			return nil, fmt.Errorf("package %s has no export data: %s", path, perr)
		}
		public = append(public, path)
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	seen := map[string]bool{}
	var list []exportedType
	for _, path := range public {
		pkg, err := imp.Import(path)
		if err != nil {
			return nil, fmt.Errorf("import %s: %v", path, err)
		}
		for _, n := range pkg.Scope().Names() {
			obj, ok := pkg.Scope().Lookup(n).(*types.TypeName)
			if !ok || !obj.Exported() {
				continue
			}
			typ := types.Unalias(obj.Type())
			named, ok := typ.(*types.Named)
			if !ok || named.Obj().Pkg() == nil {
				continue
			}
			name := named.Obj().Pkg().Name() + "." + named.Obj().Name()
			if seen[name] {
				continue
			}
			seen[name] = true
			et := exportedType{name: name}
			secretFields(named, "", true, map[types.Type]bool{}, &et)
			list = append(list, et)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list, nil
}

// secretFields walks t's fields (through pointers, slices, arrays and
// maps, into the module's own named types only) and records the paths of
// text fields (string, []byte, []string, or a type based on them) whose
// name the rule matches.
func secretFields(t types.Type, path string, exported bool, seen map[types.Type]bool, et *exportedType) {
	if seen[t] {
		return
	}
	seen[t] = true
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil && !strings.HasPrefix(n.Obj().Pkg().Path(), modulePath) {
		return // another module's type: not ours to list
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		secretFields(u.Elem(), path, exported, seen, et)
	case *types.Slice:
		secretFields(u.Elem(), path+"[]", exported, seen, et)
	case *types.Array:
		secretFields(u.Elem(), path+"[]", exported, seen, et)
	case *types.Map:
		secretFields(u.Elem(), path+"[]", exported, seen, et)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			p := f.Name()
			if path != "" {
				p = path + "." + p
			}
			if isText(f.Type()) && secretFieldName.MatchString(f.Name()) && !notSecretSuffix.MatchString(f.Name()) {
				et.fields = append(et.fields, p)
				if exported && f.Exported() {
					et.direct = append(et.direct, p)
				}
			}
			secretFields(f.Type(), p, exported && f.Exported(), seen, et)
		}
	}
}

func isText(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		b, ok := u.Elem().Underlying().(*types.Basic)
		return ok && (b.Kind() == types.Byte || b.Info()&types.IsString != 0)
	}
	return false
}

func splitFields(s string) []string {
	f := strings.Fields(s)
	sort.Strings(f)
	return f
}

// TestSecrets_Registry fails for an exported type that holds a secret and
// is not listed in secretHolders, for a listed data type whose matching
// fields changed, and for an entry naming a type that no longer holds one.
func TestSecrets_Registry(t *testing.T) {
	found := map[string]exportedType{}
	for _, et := range moduleExportedTypes(t) {
		if len(et.fields) > 0 {
			found[et.name] = et
		}
	}
	for name, et := range found {
		h, ok := secretHolders[name]
		if !ok {
			t.Errorf("%s holds %v: list it in secretHolders with its intent (config, app, store, holder or none) and add a case to secretCases", name, et.fields)
			continue
		}
		if h.intent == intentHolder {
			continue
		}
		want := splitFields(h.secret + " " + h.plain)
		got := slices.Clone(et.direct)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the fields the name rule matches are %v, secretHolders lists %v: classify each as secret or plain", name, got, want)
		}
	}
	for name, h := range secretHolders {
		// A holder may keep its secrets where the name rule cannot see
		// them (a closure, an interface): it stays listed, and its case in
		// secretCases checks it.
		if _, ok := found[name]; !ok && h.intent != intentHolder {
			t.Errorf("secretHolders lists %s, which is not an exported type holding a matching field any more: remove it", name)
		}
	}
}

// TestSecrets_RegistryCovered fails for a registered type with a secret
// that secretCases does not print, log and encode.
func TestSecrets_RegistryCovered(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range secretCases(t) {
		covered[typeName(reflect.TypeOf(tc.value))] = true
	}
	for name, h := range secretHolders {
		if h.intent == intentPlain {
			continue
		}
		if !covered[name] {
			t.Errorf("%s (%s) has no case in secretCases", name, h.intent)
		}
	}
}

// typeName is the registry's name for t: package name and type name,
// through one pointer.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	return pkg + "." + t.Name()
}
