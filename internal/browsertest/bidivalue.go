package browsertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// remoteValue is a value as WebDriver BiDi serializes it: a type, and for
// most types a value, whose shape depends on the type.
type remoteValue struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// remoteJSON turns a serialized BiDi value into the JSON that
// JSON.stringify would give for it, so that Firefox's Eval decodes into Go
// values as Chromium's does: nil for undefined (and for what JSON leaves
// out, a function or a symbol), null for NaN and the infinities, {} for
// objects that have no JSON of their own (a Map, a DOM node). It does not
// evaluate the value in the page, so that a statement such as
// `a = 1; b = 2` can be evaluated too, which a JSON.stringify around it
// would not allow. A value too deep for the browser to serialize whole
// comes without its contents and is an error, as a cycle would be for
// JSON.stringify.
func remoteJSON(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	ok, err := appendRemote(&buf, raw)
	if err != nil || !ok {
		return nil, err
	}
	return buf.Bytes(), nil
}

// appendRemote writes the JSON of the serialized value raw to buf, and
// says false (writing nothing) when JSON has none for it.
func appendRemote(buf *bytes.Buffer, raw []byte) (bool, error) {
	var v remoteValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, fmt.Errorf("a serialized value that is not an object: %w", err)
	}
	switch v.Type {
	case "undefined", "function", "symbol":
		return false, nil
	case "null":
		buf.WriteString("null")
	case "boolean":
		var b bool
		if err := json.Unmarshal(v.Value, &b); err != nil {
			return false, fmt.Errorf("boolean %s: %w", short(string(v.Value)), err)
		}
		buf.WriteString(strconv.FormatBool(b))
	case "string", "date":
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return false, fmt.Errorf("%s %s: %w", v.Type, short(string(v.Value)), err)
		}
		b, _ := json.Marshal(s) // a string always encodes
		buf.Write(b)
	case "number":
		return true, appendNumber(buf, v.Value)
	case "bigint":
		// JSON.stringify throws on a BigInt; its digits are the useful
		// answer here.
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			return false, fmt.Errorf("bigint %s: %w", short(string(v.Value)), err)
		}
		if !isDecimal(s) {
			return false, fmt.Errorf("bigint %q is not a decimal number", s)
		}
		buf.WriteString(s)
	case "array":
		var items []json.RawMessage
		if err := contents(v, &items); err != nil {
			return false, err
		}
		buf.WriteByte('[')
		for i, item := range items {
			if i > 0 {
				buf.WriteByte(',')
			}
			ok, err := appendRemote(buf, item)
			if err != nil {
				return false, err
			}
			if !ok {
				buf.WriteString("null") // as JSON.stringify writes undefined in an array
			}
		}
		buf.WriteByte(']')
	case "object":
		var entries [][2]json.RawMessage
		if err := contents(v, &entries); err != nil {
			return false, err
		}
		buf.WriteByte('{')
		n := 0
		for _, e := range entries {
			var key string
			if err := json.Unmarshal(e[0], &key); err != nil {
				return false, fmt.Errorf("an object key that is not a string: %s", short(string(e[0])))
			}
			mark := buf.Len()
			if n > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(key)
			buf.Write(k)
			buf.WriteByte(':')
			ok, err := appendRemote(buf, e[1])
			if err != nil {
				return false, err
			}
			if !ok {
				buf.Truncate(mark) // JSON.stringify leaves such a property out
				continue
			}
			n++
		}
		buf.WriteByte('}')
	case "":
		return false, errors.New("a serialized value without a type")
	default:
		// A Map, a Set, a RegExp, an Error, a node, a window, a promise, a
		// typed array...: JSON.stringify gives {} for most, and none of
		// them is a value a test decodes.
		buf.WriteString("{}")
	}
	return true, nil
}

// contents decodes the value of an array or object into out. The browser
// leaves it out for a value nested deeper than it serializes, or seen
// before (a cycle).
func contents(v remoteValue, out any) error {
	if len(v.Value) == 0 || string(v.Value) == "null" {
		return fmt.Errorf("an %s without its contents: nested too deep, or a cycle", v.Type)
	}
	if err := json.Unmarshal(v.Value, out); err != nil {
		return fmt.Errorf("%s %s: %w", v.Type, short(string(v.Value)), err)
	}
	return nil
}

// appendNumber writes a number, which BiDi sends as a JSON number or, for
// those JSON lacks, as a string.
func appendNumber(buf *bytes.Buffer, raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "NaN", "Infinity", "-Infinity":
			buf.WriteString("null") // as JSON.stringify writes them
		case "-0":
			buf.WriteString("0")
		default:
			return fmt.Errorf("number %q", s)
		}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("number %s: %w", short(string(raw)), err)
	}
	buf.WriteString(n.String())
	return nil
}

// isDecimal says whether s is an optional minus and one or more digits.
func isDecimal(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
