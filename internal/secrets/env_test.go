package secrets

import (
	"os"
	"strings"
	"testing"
)

func TestTakeRemovesSecrets(t *testing.T) {
	t.Setenv(TokenEnv, "tok")
	t.Setenv(PasswordEnv, "pw")
	t.Setenv(ClusterPasswordEnv, "route-pw")
	t.Setenv(URLEnv, "nats://h1:4222, nats://u:pw@h2:4222")
	e := Take()
	if e != (Env{Token: "tok", Password: "pw", ClusterPassword: "route-pw", URL: "nats://h1:4222, nats://u:pw@h2:4222"}) {
		t.Fatalf("Take = %+v", e)
	}
	for _, name := range []string{TokenEnv, PasswordEnv, ClusterPasswordEnv, URLEnv} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s=%q still in the environment", name, v)
		}
	}
}

func TestTakeKeepsAURLWithoutCredentials(t *testing.T) {
	t.Setenv(URLEnv, "nats://h1:4222,nats://h2:4222")
	if e := Take(); e.URL != "nats://h1:4222,nats://h2:4222" {
		t.Fatalf("URL = %q", e.URL)
	}
	if os.Getenv(URLEnv) == "" {
		t.Fatal("a URL without credentials was removed")
	}
}

func TestURLCredentials(t *testing.T) {
	for urls, want := range map[string]string{
		"":                                    "",
		"nats://h:4222":                       "",
		"nats://h:4222,nats://s3cret@h2:4222": TokenEnv,
		"tls://u:pw@h:4222":                   "PROCPOOL_USER and " + PasswordEnv,
		"s3cret@h:4222":                       TokenEnv,
	} {
		if got := URLCredentials(urls); got != want {
			t.Errorf("URLCredentials(%q) = %q, want %q", urls, got, want)
		}
	}
}

func TestArgvWarning(t *testing.T) {
	if w := ArgvWarning("p", nil); w != "" {
		t.Fatalf("warning without secrets: %q", w)
	}
	w := ArgvWarning("procpool broker", []Given{{"--token", TokenEnv}, {"--cluster-password", ClusterPasswordEnv}})
	for _, want := range []string{"procpool broker: warning:", "--token, --cluster-password", "every user", "PROCPOOL_TOKEN; PROCPOOL_CLUSTER_PASSWORD"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning lacks %q: %s", want, w)
		}
	}
	if strings.Count(w, "\n") != 0 {
		t.Errorf("not one line: %q", w)
	}
}

func TestScrub(t *testing.T) {
	env := []string{"HOME=/root", TokenEnv + "=t0k3n", PasswordEnv + "=pw", ClusterPasswordEnv + "=cpw",
		URLEnv + "=nats://u:p@h:4222", "PROCPOOL_USER=u", "PATH=/bin"}
	got := strings.Join(Scrub(env), " ")
	if got != "HOME=/root PROCPOOL_USER=u PATH=/bin" {
		t.Fatalf("Scrub = %q", got)
	}
	if kept := Scrub([]string{URLEnv + "=nats://h:4222"}); len(kept) != 1 {
		t.Fatalf("a URL without credentials was dropped: %q", kept)
	}
}
