package usererr

import (
	"context"
	"errors"
	"io"
	"testing"
)

var errKind = errors.New("kind")

func TestErrorfKeepsKindAndCauses(t *testing.T) {
	err := Errorf(errKind, "try again", "reading %s failed (%w)", "x", io.ErrUnexpectedEOF)
	if err.Error() != "reading x failed (unexpected EOF); try again" {
		t.Fatalf("text %q", err)
	}
	if !errors.Is(err, errKind) || !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		t.Fatal("kind or cause lost")
	}
	if What(err) != "reading x failed (unexpected EOF)" || !IsSentence(err) || IsSentence(io.EOF) {
		t.Fatalf("What %q", What(err))
	}
}

func TestWrapHidesItsCause(t *testing.T) {
	err := Wrap(nil, context.DeadlineExceeded, "check it", "no answer from %s", "x")
	if err.Error() != "no answer from x; check it" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%q", err)
	}
}

func TestWithHintAddsAdviceOnce(t *testing.T) {
	clause := Errorf(errKind, "", "the kernel failed to do %s", "x")
	if clause.Error() != "the kernel failed to do x" {
		t.Fatalf("clause %q", clause)
	}
	err := WithHint(clause, "try again")
	if err.Error() != "the kernel failed to do x; try again" || !errors.Is(err, errKind) {
		t.Fatalf("%q", err)
	}
	if again := WithHint(err, "other"); again.Error() != err.Error() {
		t.Fatalf("advice given twice: %q", again)
	}
	if plain := WithHint(io.EOF, "try again"); plain.Error() != "EOF; try again" || !errors.Is(plain, io.EOF) {
		t.Fatalf("%q", plain)
	}
	if WithHint(nil, "x") != nil {
		t.Fatal("nil became an error")
	}
}
