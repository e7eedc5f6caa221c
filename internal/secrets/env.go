package secrets

import (
	"net/url"
	"os"
	"strings"
)

// The environment variables that carry procpool's secrets.
const (
	TokenEnv           = "PROCPOOL_TOKEN"
	PasswordEnv        = "PROCPOOL_PASSWORD"
	ClusterPasswordEnv = "PROCPOOL_CLUSTER_PASSWORD"
	// URLEnv carries a secret when its URLs hold credentials
	// (nats://TOKEN@host, nats://user:password@host).
	URLEnv = "PROCPOOL_URL"
)

// Env is what [Take] read.
type Env struct {
	Token, Password, ClusterPassword, URL string
}

// Take reads the secret variables and removes them from this process's
// environment, so that no process it starts inherits them; PROCPOOL_URL
// is removed only when it carries credentials. A command calls it before
// it starts anything, whichever of them it uses.
func Take() Env {
	e := Env{
		Token:           take(TokenEnv),
		Password:        take(PasswordEnv),
		ClusterPassword: take(ClusterPasswordEnv),
		URL:             os.Getenv(URLEnv),
	}
	if URLCredentials(e.URL) != "" {
		os.Unsetenv(URLEnv)
	}
	return e
}

func take(name string) string {
	v := os.Getenv(name)
	os.Unsetenv(name)
	return v
}

// URLCredentials names the variables that should carry the credentials
// found in the comma-separated URLs: "PROCPOOL_USER and PROCPOOL_PASSWORD"
// for nats://user:password@host, "PROCPOOL_TOKEN" for nats://TOKEN@host,
// "" when no URL carries any.
func URLCredentials(urls string) string {
	for u := range strings.SplitSeq(urls, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		pu, err := url.Parse(u)
		if err != nil || pu.User == nil {
			continue
		}
		if _, ok := pu.User.Password(); ok {
			return "PROCPOOL_USER and " + PasswordEnv
		}
		if pu.User.Username() != "" {
			return TokenEnv
		}
	}
	return ""
}

// Scrub returns env (as os.Environ gives it) without the secret
// variables, PROCPOOL_URL included when it carries credentials: what a
// worker process is started with, whatever its parent program left in its
// own environment. Workers get their credentials over stdin.
func Scrub(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == TokenEnv, name == PasswordEnv, name == ClusterPasswordEnv:
			continue
		case name == URLEnv && URLCredentials(value) != "":
			continue
		}
		out = append(out, kv)
	}
	return out
}
