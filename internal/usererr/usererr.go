// Package usererr builds the errors that reach the docker CLI user: the
// engine shows a plugin's error text verbatim, so each must read as one
// sentence that names the object and says what to do. Sentinel errors stay
// matchable with errors.Is through the error's kind, without their own
// text being appended to a message that already says it.
package usererr

import (
	"errors"
	"fmt"
)

// Error is one sentence for the user: what is wrong, then "; " and what to
// do about it. It matches its kind with errors.Is and unwraps to the causes
// its format wrapped with %w.
type Error struct {
	msg    string
	hint   string
	kind   error
	causes []error
}

// Errorf formats what is wrong (%w wraps a cause, whose text appears where
// the verb is) and appends "; " and hint, what the user should do.
// kind may be nil.
func Errorf(kind error, hint, format string, args ...any) error {
	w := fmt.Errorf(format, args...)
	e := &Error{msg: w.Error(), hint: hint, kind: kind}
	switch u := w.(type) {
	case interface{ Unwrap() error }:
		e.causes = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		e.causes = u.Unwrap()
	}
	return e
}

// Wrap is Errorf for a cause whose own words would not help the user (a
// context's deadline, say): errors.Is still finds it, the text leaves it out.
func Wrap(kind, cause error, hint, format string, args ...any) error {
	e := &Error{msg: fmt.Sprintf(format, args...), hint: hint, kind: kind}
	if cause != nil {
		e.causes = []error{cause}
	}
	return e
}

func (e *Error) Error() string {
	if e.hint == "" {
		return e.msg
	}
	return e.msg + "; " + e.hint
}

// Is reports whether target is the error's kind.
func (e *Error) Is(target error) bool { return e.kind != nil && errors.Is(e.kind, target) }

// Unwrap returns the causes.
func (e *Error) Unwrap() []error { return e.causes }

// Kind is the sentinel the error matches, if any.
func (e *Error) Kind() error { return e.kind }

// Hint says what the user should do.
func (e *Error) Hint() string { return e.hint }

// What is what err says went wrong, without its advice: for callers that
// add to it and give advice of their own.
func What(err error) string {
	if e, ok := err.(*Error); ok {
		return e.msg
	}
	return err.Error()
}

// WithHint gives err hint as its advice unless it already has some; err
// must already say, naming the object, what went wrong. It keeps err's
// kind and causes for errors.Is.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	e, ok := err.(*Error)
	if !ok {
		return &Error{msg: err.Error(), hint: hint, causes: []error{err}}
	}
	if e.hint != "" {
		return err
	}
	c := *e
	c.hint = hint
	return &c
}

// IsSentence reports whether err is itself a whole sentence for the user,
// advice included; callers pass such errors on unchanged rather than wrap
// them in a second description of the same failure.
func IsSentence(err error) bool {
	e, ok := err.(*Error)
	return ok && e.hint != ""
}
