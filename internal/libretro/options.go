package libretro

/*
#include <stdlib.h>
#include "frontend.h"
*/
import "C"

import (
	"log/slog"
	"slices"
	"strings"
	"unsafe"
)

// options holds a core's settings: the definitions the core announces, in
// any of libretro's three formats, and the frontend's overrides.
type options struct {
	log       *slog.Logger
	overrides map[string]string
	defs      map[string]*option
	updated   bool
}

type option struct {
	values []string
	value  string
	cvalue *C.char // handed to the core; must outlive GET_VARIABLE's caller
}

func newOptions(overrides map[string]string, log *slog.Logger) *options {
	return &options{log: log, overrides: overrides, defs: map[string]*option{}}
}

// define records an option and settles its value: a valid override, else
// the core's default, else its first value.
func (o *options) define(key, defaultValue string, values []string) {
	if key == "" {
		return
	}
	value := defaultValue
	if value == "" && len(values) > 0 {
		value = values[0]
	}
	if want, ok := o.overrides[key]; ok {
		if slices.Contains(values, want) {
			value = want
		} else {
			o.log.Warn("libretro: ignoring invalid core option", "key", key, "value", want, "allowed", strings.Join(values, "|"))
		}
	}
	if old := o.defs[key]; old != nil {
		C.free(unsafe.Pointer(old.cvalue))
	}
	o.defs[key] = &option{values: values, value: value, cvalue: C.CString(value)}
}

// setVariables reads the legacy "Description; default|other|..." format.
func (o *options) setVariables(v *C.struct_retro_variable) {
	for ; v != nil && v.key != nil; v = (*C.struct_retro_variable)(unsafe.Add(unsafe.Pointer(v), unsafe.Sizeof(*v))) {
		_, list, ok := strings.Cut(C.GoString(v.value), ";")
		if !ok {
			continue
		}
		values := strings.Split(strings.TrimSpace(list), "|")
		o.define(C.GoString(v.key), values[0], values)
	}
}

func (o *options) setV1(d *C.struct_retro_core_option_definition) {
	for ; d != nil && d.key != nil; d = (*C.struct_retro_core_option_definition)(unsafe.Add(unsafe.Pointer(d), unsafe.Sizeof(*d))) {
		o.define(C.GoString(d.key), C.GoString(d.default_value), optionValues(d.values[:]))
	}
}

func (o *options) setV2(opts *C.struct_retro_core_options_v2) {
	if opts == nil {
		return
	}
	for d := opts.definitions; d != nil && d.key != nil; d = (*C.struct_retro_core_option_v2_definition)(unsafe.Add(unsafe.Pointer(d), unsafe.Sizeof(*d))) {
		o.define(C.GoString(d.key), C.GoString(d.default_value), optionValues(d.values[:]))
	}
}

func optionValues(vs []C.struct_retro_core_option_value) []string {
	var values []string
	for _, v := range vs {
		if v.value == nil {
			break
		}
		values = append(values, C.GoString(v.value))
	}
	return values
}

// get returns the option's value for the core, or nil for an unknown key.
func (o *options) get(key string) *C.char {
	if opt := o.defs[key]; opt != nil {
		return opt.cvalue
	}
	return nil
}

// set is the core changing one of its own options.
func (o *options) set(key, value string) {
	opt := o.defs[key]
	if opt == nil || !slices.Contains(opt.values, value) || opt.value == value {
		return
	}
	C.free(unsafe.Pointer(opt.cvalue))
	opt.value, opt.cvalue = value, C.CString(value)
	o.updated = true
}

func (o *options) takeUpdated() bool {
	u := o.updated
	o.updated = false
	return u
}

// values returns every option's current value, by key.
func (o *options) values() map[string]string {
	m := make(map[string]string, len(o.defs))
	for k, opt := range o.defs {
		m[k] = opt.value
	}
	return m
}

func (o *options) free() {
	for _, opt := range o.defs {
		C.free(unsafe.Pointer(opt.cvalue))
	}
	o.defs = map[string]*option{}
}
