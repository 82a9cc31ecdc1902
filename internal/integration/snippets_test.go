package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snippetEnv is a fresh shell's environment: no AWS configuration or
// credentials of the machine's, Go's caches kept so `go run` is quick.
func snippetEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true"}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS"} {
		out, err := exec.Command("go", "env", k).Output()
		if err == nil && strings.TrimSpace(string(out)) != "" {
			env = append(env, k+"="+strings.TrimSpace(string(out)))
		}
	}
	return env
}

// runSnippet runs text in bash from the repository's root, as a user
// pasting it would.
func runSnippet(t *testing.T, name, shell, text string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if shell == "python3" {
		cmd = exec.CommandContext(ctx, "python3", "-c", text)
	} else {
		cmd = exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", text)
	}
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n--- snippet\n%s\n--- output\n%s", name, err, text, out)
	}
	return string(out)
}

// codeBlock returns the first fenced block of lang after heading in md.
func codeBlock(t *testing.T, md, heading, lang string) string {
	t.Helper()
	i := strings.Index(md, heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	rest := md[i:]
	j := strings.Index(rest, "```"+lang+"\n")
	if j < 0 {
		t.Fatalf("no %s block after %q", lang, heading)
	}
	rest = rest[j+len("```"+lang+"\n"):]
	return rest[:strings.Index(rest, "```")]
}

// TestReadmeAndDemoSnippetsWorkAsPasted runs the README's first-session
// commands and every command the demo prints, in a fresh shell's
// environment, against a server started as the README's first command
// starts it (on another port).
func TestReadmeAndDemoSnippetsWorkAsPasted(t *testing.T) {
	for _, tool := range []string{"aws", "python3", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 is not installed")
	}
	s := startServer(t, "--demo", "--keep-warm", "1s")
	waitFor(t, "the demo's snippets", 30*time.Second, func() bool { return strings.Contains(s.logs.String(), "--rounds 5") })
	env := snippetEnv(t)
	const readmeAddr = "127.0.0.1:4327"

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sh := strings.ReplaceAll(codeBlock(t, string(readme), "## A first session", "sh"), readmeAddr, s.addr)
	// hearth's client commands default to 127.0.0.1:4327; their variable
	// points them at this server as the address swap does for the rest.
	out := runSnippet(t, "README shell session", "bash", sh, append(env, "HEARTH_ENDPOINT_URL=http://"+s.addr))
	if !strings.Contains(out, `"body":"hello"`) || !strings.Contains(out, "served warm-provisioned") || !strings.Contains(out, "provisioned: 1") {
		t.Fatalf("README shell session did not invoke the echo endpoint as described:\n%s", out)
	}
	py := strings.ReplaceAll(codeBlock(t, string(readme), "The same from Python", "python"), readmeAddr, s.addr)
	if out := runSnippet(t, "README Python", "python3", py, env); !strings.Contains(out, "AllTraffic") || !strings.Contains(out, "hello") {
		t.Fatalf("README Python did not invoke the echo endpoint:\n%s", out)
	}

	// The demo's printed commands: each one, as printed (continuation lines
	// joined), in a shell that has run the printed export.
	var export string
	var cmds []string
	lines := strings.Split(s.logs.String(), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		switch {
		case strings.HasPrefix(line, "export AWS_"):
			export = line
		case strings.HasPrefix(line, "aws "), strings.HasPrefix(line, "python3 -c"),
			strings.Contains(line, " invoke demo-"),
			strings.Contains(line, " bench coldstart") && strings.Contains(line, "--rounds 1 "):
			cmds = append(cmds, line)
		}
	}
	if export == "" || len(cmds) < 5 {
		t.Fatalf("the demo printed %d commands and export %q:\n%s", len(cmds), export, s.logs.String())
	}
	for _, c := range cmds {
		script := c
		if strings.HasPrefix(c, "aws ") {
			script = export + "\n" + c
		}
		out := runSnippet(t, "demo: "+c, "bash", script, env)
		if strings.Contains(c, "bench coldstart") && !strings.Contains(out, "demo-ondemand") {
			t.Fatalf("bench printed no result:\n%s", out)
		}
	}
	// The banner's own try line.
	for _, line := range lines {
		if try, ok := strings.CutPrefix(strings.TrimSpace(line), "try:"); ok {
			runSnippet(t, "banner", "bash", strings.TrimSpace(try), env)
		}
	}
}
