package conn

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
)

// The sentences users see when a database call fails: each names the
// database and its address, says what the call meant to do, and what to do
// about it. Errors callers expect (a guard that tripped, a row absent) keep
// their sentinels for errors.Is.

// Unavailable builds the error callers see when the database cannot be
// used; it matches ovs.ErrUnavailable.
func (c *Conn) Unavailable(cause error) error {
	hint := "check that it runs and that " + c.flag + " names it"
	if cause != nil && !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, context.Canceled) {
		return usererr.Errorf(ovs.ErrUnavailable, hint, "cannot reach the %s at %s (%w)", c.name, c.Endpoints(), cause)
	}
	c.mu.Lock()
	last := c.lastErr
	c.mu.Unlock()
	why := ""
	if last != nil {
		why = " (last error: " + last.Error() + ")"
	}
	return usererr.Wrap(ovs.ErrUnavailable, cause, hint, "cannot reach the %s at %s: no answer in time%s", c.name, c.Endpoints(), why)
}

// Endpoints is the database's address as users gave it.
func (c *Conn) Endpoints() string { return strings.Join(c.cfg.Endpoints, ",") }

// Failed turns the failure of a transaction that meant to do what (a
// phrase such as "create logical switch docker-f783e94b14db") into the
// sentence users see: the database's refusal in its own words, never a
// bare "operation 2 failed". Errors that already are sentences (the
// database unreachable) pass unchanged.
func (c *Conn) Failed(err error, what string) error {
	if err == nil || usererr.IsSentence(err) {
		return err
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return usererr.Errorf(nil, "check the reason it gives, then try again", "the %s at %s refused to %s (%w)", c.name, c.Endpoints(), what, err)
	}
	return usererr.Errorf(nil, "try again", "the %s at %s failed to %s (%w)", c.name, c.Endpoints(), what, err)
}

// NotFound says that the row described by what is not in the database.
// Callers that know what the user should do about it catch ErrNotFound and
// say so; this text is for what they do not expect, a row vanishing
// between two steps of one call.
func (c *Conn) NotFound(what string) error {
	return usererr.Errorf(ovs.ErrNotFound, "try again", "%s is not in the %s at %s", what, c.name, c.Endpoints())
}

// OpError reports the failed operation of a transaction. Its text is the
// server's reason only, cut to its first sentence (ovsdb-server goes on
// about the UUIDs of the rows involved): which operation failed means
// nothing to a user, and failed says what the transaction was for.
type OpError struct {
	Index   int    // which operation failed; -1 when the commit itself did
	Kind    string // the OVSDB error, e.g. "timed out", "constraint violation"
	Details string
}

func (e *OpError) Error() string {
	if d := firstSentence(e.Details); d != "" {
		return e.Kind + ": " + d
	}
	return e.Kind
}

// firstSentence returns s up to its first full stop, without it, starting
// lowercase unless it starts with an acronym.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	if len(s) > 1 && unicode.IsUpper(rune(s[0])) && unicode.IsLower(rune(s[1])) {
		s = strings.ToLower(s[:1]) + s[1:]
	}
	return s
}

// RowKind is how errors call a row of table.
func RowKind(table string) string {
	switch table {
	case "Logical_Switch":
		return "logical switch"
	case "Logical_Switch_Port":
		return "logical port"
	case "Address_Set":
		return "address set"
	case "Port":
		return "OVS port"
	case "Interface":
		return "OVS interface"
	case "Bridge":
		return "bridge"
	}
	return "row of " + table
}

// ReadFailed explains a failed read of the monitor cache, which waits for
// the cache to catch up after a reconnection until ctx ends.
func (c *Conn) ReadFailed(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return c.Unavailable(ctx.Err())
	}
	return c.Failed(err, "read "+what)
}
