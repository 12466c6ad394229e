package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Flags are a command's settings on its command line, and -config.
type Flags struct {
	fs   *flag.FlagSet
	cmd  Command
	file string
	// given holds the defaults and the flags given. The flags cannot set
	// the Config a command runs with as they are parsed: the file they
	// name, and the environment, come under them.
	given Config
}

// NewFlags registers -config and the flags of cmd's settings on fs.
func NewFlags(fs *flag.FlagSet, cmd Command) *Flags {
	f := &Flags{fs: fs, cmd: cmd, given: Default()}
	fs.StringVar(&f.file, "config", "", "JSON config `file`; see telecart.example.json")
	for _, s := range settings() {
		if s.flag != "" && s.cmds&cmd != 0 {
			fs.Var(s.value(&f.given), s.flag, s.help)
		}
	}
	return f
}

// Config is the configuration, once the flag set has parsed the command
// line: the defaults, then the -config file, then the environment (read
// with getenv), then the flags given, each overriding the one before. It
// is not validated: see Validate.
func (f *Flags) Config(getenv func(string) string) (Config, error) {
	c := Default()
	if f.file != "" {
		if err := c.LoadFile(f.file); err != nil {
			return c, err
		}
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return c, err
	}
	byFlag := map[string]setting{}
	for _, s := range settings() {
		if s.flag != "" {
			byFlag[s.flag] = s
		}
	}
	var errs []error
	f.fs.Visit(func(fl *flag.Flag) {
		if s, ok := byFlag[fl.Name]; ok { // not -config, nor a flag of the caller's
			// The flag package has parsed the value, and String gives
			// back what Set takes: this fails only for a mistake here.
			if err := s.value(&c).Set(fl.Value.String()); err != nil {
				errs = append(errs, fmt.Errorf("%w: -%s %s: %w", ErrInvalid, fl.Name, fl.Value, err))
			}
		}
	})
	return c, errors.Join(errs...)
}

// PrintDefaults prints, to the flag set's output, the flags in the order
// of the table of settings with their environment variables, then the
// variables of the command's settings that have no flag.
func (f *Flags) PrintDefaults() {
	w := f.fs.Output()
	printFlag := func(name, typ, help, def string, quote bool) {
		fmt.Fprintf(w, "  -%s", name)
		if typ != "" {
			fmt.Fprintf(w, " %s", typ)
		}
		fmt.Fprintf(w, "\n    \t%s", help)
		if def != "" {
			if quote {
				def = fmt.Sprintf("%q", def)
			}
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	}
	if fl := f.fs.Lookup("config"); fl != nil {
		typ, help := flag.UnquoteUsage(fl)
		printFlag(fl.Name, typ, help, "", false)
	}
	var envOnly []setting
	for _, s := range settings() {
		if s.cmds&f.cmd == 0 {
			continue
		}
		if s.flag == "" {
			envOnly = append(envOnly, s)
			continue
		}
		fl := f.fs.Lookup(s.flag)
		typ, help := flag.UnquoteUsage(fl)
		if typ == "value" {
			typ = typeName(fl.Value)
		}
		if s.env != "" {
			help += " (" + s.env + ")"
		}
		_, quote := fl.Value.(*stringValue)
		printFlag(s.flag, typ, help, s.def, quote)
	}
	if len(envOnly) == 0 {
		return
	}
	fmt.Fprintln(w, "\nEnvironment variables of settings with no flag:")
	for _, s := range envOnly {
		fmt.Fprintf(w, "  %s\n    \t%s", s.env, strings.ReplaceAll(s.help, "`", ""))
		if s.def != "" {
			fmt.Fprintf(w, " (default %s)", s.def)
		}
		fmt.Fprintln(w)
	}
}

// typeName is the word the help shows after a flag that takes a value and
// whose help names none in back quotes.
func typeName(v flag.Value) string {
	switch v.(type) {
	case *intValue:
		return "int"
	case *floatValue:
		return "float"
	case *Duration:
		return "duration"
	case listValue, stunValue:
		return "list"
	}
	return "string"
}
