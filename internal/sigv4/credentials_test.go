package sigv4

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadCredentialsFile(t *testing.T) {
	got, err := LoadCredentialsFile(filepath.Join("testdata", "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Credential{
		"default": {AccessKeyID: "AKIDDEFAULTEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY2"},
		"ci":      {AccessKeyID: "AKIDCIEXAMPLE", SecretAccessKey: "ciSecretExample"},
		"temporary": {
			AccessKeyID: "ASIATEMPEXAMPLE", SecretAccessKey: "tempSecretExample",
			SessionToken: "FwoGZXIvYXdzEXAMPLE//+TOKEN==",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
}

func TestLoadCredentialsFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent")
	_, err := LoadCredentialsFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestLoadCredentialsFileNamesPathInErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte("[a]\naws_access_key_id = K\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCredentialsFile(path)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Profile != "a" || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want a *ParseError for profile a mentioning %s", err, path)
	}
}

func TestParseCredentialsFile(t *testing.T) {
	const pair = "aws_access_key_id = K\naws_secret_access_key = S\n"
	tests := []struct {
		name string
		in   string
		want map[string]Credential
	}{
		{name: "empty file", in: "", want: map[string]Credential{}},
		{name: "only comments and blanks", in: "# a\n; b\n\n   \n\t# c\n", want: map[string]Credential{}},
		{name: "default profile", in: "[default]\n" + pair, want: map[string]Credential{"default": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "profile prefix is dropped", in: "[profile dev]\n" + pair, want: map[string]Credential{"dev": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "profile prefix with a tab", in: "[profile\tdev]\n" + pair, want: map[string]Credential{"dev": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "profile named profile", in: "[profile]\n" + pair, want: map[string]Credential{"profile": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "names with dots and dashes", in: "[my-team.prod_1]\n" + pair, want: map[string]Credential{"my-team.prod_1": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "CRLF line endings", in: "[default]\r\naws_access_key_id = K\r\naws_secret_access_key = S\r\n", want: map[string]Credential{"default": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "byte order mark", in: "\ufeff[default]\n" + pair, want: map[string]Credential{"default": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "colon separator and no spaces", in: "[d]\naws_access_key_id:K\naws_secret_access_key=S\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "keys are case-insensitive", in: "[d]\nAWS_ACCESS_KEY_ID = K\nAws_Secret_Access_Key = S\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "value keeps '=' and a trailing '#'", in: "[d]\naws_access_key_id = K\naws_secret_access_key = a=b # c\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "a=b # c"}}},
		{name: "duplicate key: last wins", in: "[d]\n" + pair + "aws_secret_access_key = S2\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S2"}}},
		{name: "repeated profile merges", in: "[d]\naws_access_key_id = K\n[e]\n" + pair + "[d]\naws_secret_access_key = S\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S"}, "e": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "session token", in: "[d]\n" + pair + "aws_session_token = T\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S", SessionToken: "T"}}},
		{name: "other keys and nested sections ignored", in: "[d]\nregion = us-east-1\ns3 =\n  addressing_style = path\n" + pair, want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "comment after section header", in: "[d] ; note\n" + pair, want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S"}}},
		{name: "indented comment inside a profile", in: "[d]\n" + pair + "  # indented comment\n", want: map[string]Credential{"d": {AccessKeyID: "K", SecretAccessKey: "S"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentialsFile(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseCredentialsFile: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCredentialsFileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ParseError
	}{
		{name: "profile without secret", in: "[default]\naws_access_key_id = K\n",
			want: ParseError{Profile: "default", Msg: "has aws_access_key_id but no aws_secret_access_key"}},
		{name: "profile with empty secret", in: "[ci]\naws_access_key_id = K\naws_secret_access_key =\n",
			want: ParseError{Profile: "ci", Msg: "has aws_access_key_id but no aws_secret_access_key"}},
		{name: "profile without key ID", in: "[x]\naws_secret_access_key = S\n",
			want: ParseError{Profile: "x", Msg: "has aws_secret_access_key but no aws_access_key_id"}},
		{name: "profile without either", in: "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n",
			want: ParseError{Profile: "role", Msg: "has no aws_access_key_id and no aws_secret_access_key"}},
		{name: "property before any section", in: "# c\naws_access_key_id = K\n[d]\n",
			want: ParseError{Line: 2, Msg: `"aws_access_key_id = K" appears before any [profile] header`}},
		{name: "unclosed section header", in: "[default\n",
			want: ParseError{Line: 1, Msg: `section header "[default" lacks its closing ']'`}},
		{name: "empty section header", in: "[ ]\n",
			want: ParseError{Line: 1, Msg: `section header "[ ]" names no profile`}},
		{name: "text after section header", in: "[a] b\n",
			want: ParseError{Line: 1, Msg: `unexpected "b" after section header`}},
		{name: "line without separator", in: "[a]\naws_access_key_id K\n",
			want: ParseError{Line: 2, Profile: "a", Msg: `expected "key = value", found "aws_access_key_id K"`}},
		{name: "property without key", in: "[a]\n= K\n",
			want: ParseError{Line: 2, Profile: "a", Msg: `property without a key: "= K"`}},
		{name: "secret continued on an indented line", in: "[a]\naws_access_key_id = K\naws_secret_access_key = S\n  more\n",
			want: ParseError{Line: 4, Profile: "a", Msg: "value of aws_secret_access_key continues onto an indented line"}},
		{name: "indented line right after header", in: "[a]\n  x = 1\n",
			want: ParseError{Line: 2, Profile: "a", Msg: `indented line "x = 1" continues no property`}},
		{name: "indented line before any section", in: "  x = 1\n",
			want: ParseError{Line: 1, Msg: `"x = 1" appears before any [profile] header`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCredentialsFile(strings.NewReader(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if diff := cmp.Diff(tt.want, *pe); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		err  ParseError
		want string
	}{
		{ParseError{Line: 3, Msg: "m"}, "credentials line 3: m"},
		{ParseError{Line: 3, Profile: "p", Msg: "m"}, `credentials line 3 (profile "p"): m`},
		{ParseError{Profile: "p", Msg: "m"}, `credentials profile "p": m`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func FuzzParseCredentialsFile(f *testing.F) {
	for _, seed := range []string{
		"[default]\naws_access_key_id = K\naws_secret_access_key = S\n",
		"[profile x]\r\nAWS_ACCESS_KEY_ID:K\r\naws_secret_access_key=S\r\naws_session_token = T\r\n",
		"# c\n; d\n[a] ; e\ns3 =\n  k = v\naws_access_key_id=K\naws_secret_access_key=S\n",
		"[\n", "[]", "x", "  y", "[a]\n=", "\ufeff[a]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		creds, err := ParseCredentialsFile(strings.NewReader(in))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		for name, c := range creds {
			if name == "" || c.AccessKeyID == "" || c.SecretAccessKey == "" {
				t.Fatalf("profile %q parsed to %+v", name, c)
			}
		}
	})
}
