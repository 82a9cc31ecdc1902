package sigv4

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Credential is one key pair from a shared-credentials file.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must accompany every request signed with this
	// key pair (as X-Amz-Security-Token). When empty, a token sent along
	// with the key pair is not checked.
	SessionToken string
}

// ParseError reports a credentials file that cannot be used.
type ParseError struct {
	Line    int    // 1-based line the problem is on; 0 when it concerns a whole profile
	Profile string // profile concerned, when known
	Msg     string
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Profile != "":
		return fmt.Sprintf("credentials line %d (profile %q): %s", e.Line, e.Profile, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("credentials line %d: %s", e.Line, e.Msg)
	default:
		return fmt.Sprintf("credentials profile %q: %s", e.Profile, e.Msg)
	}
}

// Keys of a profile that hold a credential.
const (
	keyAccessKeyID     = "aws_access_key_id"
	keySecretAccessKey = "aws_secret_access_key"
	keySessionToken    = "aws_session_token"
)

// LoadCredentialsFile reads and parses the shared-credentials file at path.
func LoadCredentialsFile(path string) (map[string]Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	defer f.Close()
	creds, err := ParseCredentialsFile(f)
	if err != nil {
		return nil, fmt.Errorf("load credentials %s: %w", path, err)
	}
	return creds, nil
}

// ParseCredentialsFile parses an AWS shared-credentials file and returns its
// profiles by name.
//
// The syntax is the INI dialect the AWS CLI reads: "[name]" section headers
// (a "[profile name]" header names profile "name", as in the config file),
// "key = value" or "key: value" properties with keys matched
// case-insensitively, whole-line comments starting with '#' or ';', and
// blank lines. Values are taken verbatim after trimming the whitespace around
// them; a '#' after the value is part of it. A key repeated in a profile, or
// a profile repeated in the file, keeps the last value. Other indented lines
// continue the property above them (an indented "[name]" still starts a
// profile); they are ignored except under the three credential keys, where
// they are an error.
//
// Every profile must hold aws_access_key_id and aws_secret_access_key;
// aws_session_token is optional and other keys are ignored. Failures are
// *ParseError values naming the line or profile.
func ParseCredentialsFile(r io.Reader) (map[string]Credential, error) {
	type profile struct {
		line   int // line of its first header
		values map[string]string
	}
	var (
		profiles = map[string]*profile{}
		order    []string
		current  *profile
		curName  string
		curKey   string
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if trimmed[0] != '[' && (line[0] == ' ' || line[0] == '\t') {
			if current == nil {
				return nil, &ParseError{Line: n, Msg: fmt.Sprintf("%q appears before any [profile] header", trimmed)}
			}
			if curKey == "" {
				return nil, &ParseError{Line: n, Profile: curName, Msg: fmt.Sprintf("indented line %q continues no property", trimmed)}
			}
			if isCredentialKey(curKey) {
				return nil, &ParseError{Line: n, Profile: curName, Msg: fmt.Sprintf("value of %s continues onto an indented line", curKey)}
			}
			continue // sub-property or continuation of a key this package ignores
		}
		if trimmed[0] == '[' {
			name, err := parseSectionHeader(trimmed)
			if err != nil {
				return nil, &ParseError{Line: n, Msg: err.Error()}
			}
			p, ok := profiles[name]
			if !ok {
				p = &profile{line: n, values: map[string]string{}}
				profiles[name] = p
				order = append(order, name)
			}
			current, curName, curKey = p, name, ""
			continue
		}
		if current == nil {
			return nil, &ParseError{Line: n, Msg: fmt.Sprintf("%q appears before any [profile] header", trimmed)}
		}
		sep := strings.IndexAny(trimmed, "=:")
		if sep < 0 {
			return nil, &ParseError{Line: n, Profile: curName, Msg: fmt.Sprintf("expected \"key = value\", found %q", trimmed)}
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:sep]))
		if key == "" {
			return nil, &ParseError{Line: n, Profile: curName, Msg: fmt.Sprintf("property without a key: %q", trimmed)}
		}
		current.values[key] = strings.TrimSpace(trimmed[sep+1:])
		curKey = key
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}

	creds := make(map[string]Credential, len(profiles))
	for _, name := range order {
		p := profiles[name]
		c := Credential{
			AccessKeyID:     p.values[keyAccessKeyID],
			SecretAccessKey: p.values[keySecretAccessKey],
			SessionToken:    p.values[keySessionToken],
		}
		switch {
		case c.AccessKeyID == "" && c.SecretAccessKey == "":
			return nil, &ParseError{Profile: name, Msg: "has no aws_access_key_id and no aws_secret_access_key"}
		case c.SecretAccessKey == "":
			return nil, &ParseError{Profile: name, Msg: "has aws_access_key_id but no aws_secret_access_key"}
		case c.AccessKeyID == "":
			return nil, &ParseError{Profile: name, Msg: "has aws_secret_access_key but no aws_access_key_id"}
		}
		creds[name] = c
	}
	return creds, nil
}

// parseSectionHeader returns the profile a "[...]" line names. Text after the
// closing bracket may only be a comment.
func parseSectionHeader(line string) (string, error) {
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return "", fmt.Errorf("section header %q lacks its closing ']'", line)
	}
	if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return "", fmt.Errorf("unexpected %q after section header", rest)
	}
	name := strings.TrimSpace(line[1:end])
	if rest, ok := strings.CutPrefix(name, "profile"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		name = strings.TrimSpace(rest)
	}
	if name == "" {
		return "", fmt.Errorf("section header %q names no profile", line)
	}
	return name, nil
}

func isCredentialKey(k string) bool {
	return k == keyAccessKeyID || k == keySecretAccessKey || k == keySessionToken
}
