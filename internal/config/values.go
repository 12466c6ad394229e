package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The types below make a Config's fields flag.Values, so that a setting is
// parsed the same way from a flag, from the environment and for its
// default. Each String gives back what Set takes: the flags given are set
// again over the file and the environment from their String.
//
// Their errors say what they want, not what strconv says, because the
// message is shown under the name of a variable or a flag.

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Get() any           { return string(*v) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Get() any       { return int(*v) }

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("want a number such as 0.9")
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Get() any       { return float64(*v) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Get() any       { return bool(*v) }

// IsBoolFlag lets a flag be given as -name, for true.
func (v *boolValue) IsBoolFlag() bool { return true }

// Duration is a time.Duration written as in Go, "10ms", in the file.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"10ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String, Set and Get make a Duration a flag.Getter.
func (d Duration) String() string { return time.Duration(d).String() }
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 30s")
	}
	*d = Duration(v)
	return nil
}
func (d *Duration) Get() any { return *d }

// listValue is a list written as one string with a separator.
type listValue struct {
	dst *[]string
	sep string
}

func (l listValue) String() string {
	if l.dst == nil { // the zero value the flag package makes to tell a default
		return ""
	}
	return strings.Join(*l.dst, l.sep)
}

// Set replaces the list: a flag given twice means its last value, as
// every other flag does. The empty string is the empty list.
func (l listValue) Set(s string) error {
	*l.dst = nil
	if s != "" {
		*l.dst = strings.Split(s, l.sep)
	}
	return nil
}

func (l listValue) Get() any { return *l.dst }

// stunValue is ice_servers as TELECART_STUN gives them: URLs of one
// server without credentials.
type stunValue struct{ dst *[]ICEServer }

// String lists every server's URLs; what it leaves out, the credentials,
// Set cannot take.
func (v stunValue) String() string {
	if v.dst == nil {
		return ""
	}
	var urls []string
	for _, s := range *v.dst {
		urls = append(urls, s.URLs...)
	}
	return strings.Join(urls, ",")
}

func (v stunValue) Set(s string) error {
	*v.dst = nil
	if s != "" {
		*v.dst = []ICEServer{{URLs: strings.Split(s, ",")}}
	}
	return nil
}

func (v stunValue) Get() any { return *v.dst }

// optionsValue is core_options written as key=value pairs separated by ,
// (core option values are words and numbers, never commas).
type optionsValue map[string]string

func (v *optionsValue) String() string {
	pairs := make([]string, 0, len(*v))
	for _, k := range slices.Sorted(maps.Keys(*v)) {
		pairs = append(pairs, k+"="+(*v)[k])
	}
	return strings.Join(pairs, ",")
}

func (v *optionsValue) Set(s string) error {
	m := map[string]string{}
	if s != "" {
		for pair := range strings.SplitSeq(s, ",") {
			k, val, ok := strings.Cut(pair, "=")
			if !ok || k == "" {
				return fmt.Errorf("%q: want key=value pairs separated by ,", pair)
			}
			m[k] = val
		}
	}
	*v = m
	return nil
}

func (v *optionsValue) Get() any { return map[string]string(*v) }

// framesValue is runahead_frames written as name=frames pairs separated by
// , (system ids and game file names; a name with a comma needs the file).
type framesValue map[string]int

func (v *framesValue) String() string {
	pairs := make([]string, 0, len(*v))
	for _, k := range slices.Sorted(maps.Keys(*v)) {
		pairs = append(pairs, k+"="+strconv.Itoa((*v)[k]))
	}
	return strings.Join(pairs, ",")
}

func (v *framesValue) Set(s string) error {
	m := map[string]int{}
	if s != "" {
		for pair := range strings.SplitSeq(s, ",") {
			k, val, ok := strings.Cut(pair, "=")
			n, err := strconv.Atoi(val)
			if !ok || k == "" || err != nil {
				return fmt.Errorf("%q: want name=frames pairs separated by , (nes=1)", pair)
			}
			m[k] = n
		}
	}
	*v = m
	return nil
}

func (v *framesValue) Get() any { return map[string]int(*v) }
