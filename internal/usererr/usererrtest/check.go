// Package usererrtest is the one checker every package's tests use for the
// errors users see: it holds each triggered error to the rules below and to
// the catalog in docs/errors.md, so the catalog cannot drift from the code.
package usererrtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode"
)

// Actions are the words an action clause may start with: what follows the
// last "; " of a message must begin with one of them, so every message
// ends by telling the user what to do. All are imperative verbs but
// "only", which is for protocol errors that only a broken caller can cause
// ("only a Docker engine should call this plugin").
func Actions() []string {
	return []string{"choose", "give", "check", "remove", "try", "use", "set", "disconnect", "only"}
}

// rawText is library wording that must never reach a user unexplained.
const rawText = `operation \d+ failed|commit failed|context deadline exceeded|transaction on the|\bbad request\b`

// Check fails the test unless err reads as one sentence that says each
// thing once, names object, says what to do, and matches a row of
// docs/errors.md.
func Check(t testing.TB, err error, object string) {
	t.Helper()
	t.Logf("%v", err)
	for _, p := range Problems(err, object) {
		t.Errorf("%s\n\terror: %v", p, err)
	}
}

// Problems lists every rule err breaks (none: it is fine).
func Problems(err error, object string) []string {
	if err == nil {
		return []string{"no error"}
	}
	msg := err.Error()
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	out = append(out, sentence(msg)...)
	out = append(out, readsOnce(msg, err)...)
	if object == "" || !strings.Contains(msg, object) {
		add("does not name %q", object)
	}
	if a := action(msg); a != "" {
		add("%s", a)
	}
	if err := cataloged(msg); err != nil {
		add("%v", err)
	}
	return out
}

// sentence: one line, one sentence, lowercase start (acronyms allowed), no
// trailing full stop.
func sentence(msg string) []string {
	var out []string
	if strings.ContainsAny(msg, "\n\r\t") {
		out = append(out, "spans more than one line")
	}
	r := []rune(msg)
	if len(r) > 1 && unicode.IsUpper(r[0]) && unicode.IsLower(r[1]) {
		out = append(out, "starts with a capital letter")
	}
	if strings.HasSuffix(msg, ".") || strings.HasSuffix(msg, "?") {
		out = append(out, "ends with a full stop or question mark")
	}
	if regexp.MustCompile(`[.?!] [A-Z][a-z]`).MatchString(msg) {
		out = append(out, "holds more than one sentence")
	}
	for _, bad := range []string{"  ", ": :", ":;", ";;", " ;", " ,", ",,", ": ;", "()"} {
		if strings.Contains(msg, bad) {
			out = append(out, fmt.Sprintf("contains %q", bad))
		}
	}
	if m := regexp.MustCompile(rawText).FindString(msg); m != "" {
		out = append(out, fmt.Sprintf("contains raw library text %q", m))
	}
	return out
}

// readsOnce: no run of three words said twice, and no wrapped error's own
// text repeated or appended after the message already said it (the
// "…already in use: already in use" pattern).
func readsOnce(msg string, err error) []string {
	var out []string
	words := strings.Fields(msg)
	for i := range words {
		words[i] = strings.ToLower(strings.Trim(words[i], `,:;()"'[]`))
	}
	seen := map[string]bool{}
	for i := 0; i+3 <= len(words); i++ {
		tri := strings.Join(words[i:i+3], " ")
		if seen[tri] {
			out = append(out, fmt.Sprintf("says %q twice", tri))
			break
		}
		seen[tri] = true
	}
	for _, inner := range tree(err)[1:] {
		s := inner.Error()
		if s == "" {
			continue
		}
		if strings.Count(msg, s) > 1 {
			out = append(out, fmt.Sprintf("repeats the text of a wrapped error, %q", s))
		}
		if strings.HasSuffix(msg, ": "+s) || strings.Contains(msg, ": "+s+";") {
			out = append(out, fmt.Sprintf("appends the text of a wrapped error, %q, after the message", s))
		}
	}
	return out
}

// tree lists err, everything it wraps, and the kinds of user errors in it.
func tree(err error) []error {
	out := []error{err}
	for i := 0; i < len(out); i++ {
		switch u := out[i].(type) {
		case interface{ Unwrap() []error }:
			out = append(out, u.Unwrap()...)
		case interface{ Unwrap() error }:
			out = append(out, u.Unwrap())
		}
		if k, ok := out[i].(interface{ Kind() error }); ok {
			out = append(out, k.Kind())
		}
	}
	kept := out[:0]
	for _, e := range out {
		if e != nil {
			kept = append(kept, e)
		}
	}
	return kept
}

// action returns what is wrong with the message's action clause, if anything.
func action(msg string) string {
	i := strings.LastIndex(msg, "; ")
	if i < 0 {
		return "says nothing about what to do (no \"; <action>\" clause)"
	}
	clause := msg[i+2:]
	first, _, _ := strings.Cut(clause, " ")
	for _, a := range Actions() {
		if first == a {
			return ""
		}
	}
	return fmt.Sprintf("its last clause %q does not start with an action (%s)", clause, strings.Join(Actions(), ", "))
}

// CatalogPath is docs/errors.md of this module.
func CatalogPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "errors.md")
}

// Catalog reads the message patterns of docs/errors.md: the backquoted
// texts in the second column of its tables, each <placeholder> standing
// for any text.
func Catalog() ([]*regexp.Regexp, error) {
	b, err := os.ReadFile(CatalogPath())
	if err != nil {
		return nil, err
	}
	var out []*regexp.Regexp
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 4 {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[2], -1) {
			out = append(out, Pattern(m[1]))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("docs/errors.md lists no messages")
	}
	return out, nil
}

// Pattern turns a documented text into a regexp matching the whole
// message; a placeholder may stand for nothing (an empty ID, an absent
// detail).
func Pattern(text string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, part := range regexp.MustCompile(`<[^<>]+>`).Split(text, -1) {
		b.WriteString(regexp.QuoteMeta(part))
		b.WriteString("(.*?)")
	}
	return regexp.MustCompile(strings.TrimSuffix(b.String(), "(.*?)") + "$")
}

func cataloged(msg string) error {
	rows, err := Catalog()
	if err != nil {
		return fmt.Errorf("cannot read the catalog: %v", err)
	}
	for _, r := range rows {
		if r.MatchString(msg) {
			return nil
		}
	}
	return fmt.Errorf("matches no row of docs/errors.md")
}
