package browsertest

import (
	"encoding/json"
	"testing"
)

func TestRemoteJSON(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" for no JSON (undefined)
		wantErr        bool
	}{
		{name: "undefined", in: `{"type":"undefined"}`},
		{name: "function", in: `{"type":"function"}`},
		{name: "null", in: `{"type":"null"}`, want: `null`},
		{name: "true", in: `{"type":"boolean","value":true}`, want: `true`},
		{name: "string", in: `{"type":"string","value":"a\"b\u00e9"}`, want: `"a\"bé"`},
		{name: "number", in: `{"type":"number","value":1.5e3}`, want: `1.5e3`},
		{name: "NaN", in: `{"type":"number","value":"NaN"}`, want: `null`},
		{name: "minus zero", in: `{"type":"number","value":"-0"}`, want: `0`},
		{name: "-Infinity", in: `{"type":"number","value":"-Infinity"}`, want: `null`},
		{name: "bigint", in: `{"type":"bigint","value":"-123456789012345678901234567890"}`, want: `-123456789012345678901234567890`},
		{name: "date", in: `{"type":"date","value":"1970-01-01T00:00:00.000Z"}`, want: `"1970-01-01T00:00:00.000Z"`},
		{name: "map", in: `{"type":"map","value":[[{"type":"number","value":1},{"type":"number","value":2}]]}`, want: `{}`},
		{name: "node", in: `{"type":"node","sharedId":"x","value":{"nodeType":1}}`, want: `{}`},
		{
			name: "array with holes",
			in:   `{"type":"array","value":[{"type":"number","value":1},{"type":"undefined"},{"type":"symbol"},{"type":"array","value":[]}]}`,
			want: `[1,null,null,[]]`,
		},
		{
			name: "object leaves undefined out",
			in:   `{"type":"object","value":[["a",{"type":"undefined"}],["b",{"type":"string","value":"x"}],["c",{"type":"function"}],["d",{"type":"object","value":[]}]]}`,
			want: `{"b":"x","d":{}}`,
		},
		{name: "first property left out", in: `{"type":"object","value":[["a",{"type":"undefined"}],["b",{"type":"null"}]]}`, want: `{"b":null}`},
		{name: "too deep", in: `{"type":"object","value":[["a",{"type":"object"}]]}`, wantErr: true},
		{name: "cycle", in: `{"type":"array","internalId":"1"}`, wantErr: true},
		{name: "no type", in: `{"value":1}`, wantErr: true},
		{name: "not an object", in: `[1]`, wantErr: true},
		{name: "bad number", in: `{"type":"number","value":"lots"}`, wantErr: true},
		{name: "bad bigint", in: `{"type":"bigint","value":"1e9"}`, wantErr: true},
		{name: "object key not a string", in: `{"type":"object","value":[[{"type":"number","value":1},{"type":"null"}]]}`, wantErr: true},
		{name: "boolean that is not", in: `{"type":"boolean","value":"yes"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := remoteJSON([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("remoteJSON(%s) = %s; want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("remoteJSON(%s): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("remoteJSON(%s) = %s; want %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzRemoteJSON: whatever the browser sends, remoteJSON gives valid JSON
// or an error, and never panics.
func FuzzRemoteJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"undefined"}`,
		`{"type":"number","value":"-0"}`,
		`{"type":"array","value":[{"type":"number","value":1},{"type":"undefined"}]}`,
		`{"type":"object","value":[["a",{"type":"string","value":"x"}],["b",{"type":"object","value":[]}]]}`,
		`{"type":"bigint","value":"12"}`,
		`{"type":"date","value":"2026-01-01T00:00:00Z"}`,
		`{"type":"map","value":[]}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := remoteJSON(in)
		if err != nil || out == nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("remoteJSON(%q) = %q: not valid JSON", in, out)
		}
	})
}

// TestWebDriverKeys: every key the Page knows has a WebDriver value, so
// a Firefox page presses whatever a Chromium page does.
func TestWebDriverKeys(t *testing.T) {
	seen := map[string]string{}
	for code, k := range keyTable() {
		v, err := webdriverKey(code, k)
		if err != nil {
			t.Errorf("%s: %v", code, err)
			continue
		}
		if other, ok := seen[v]; ok {
			t.Errorf("%s and %s both press %q", code, other, v)
		}
		seen[v] = code
	}
}
