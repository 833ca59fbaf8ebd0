package store

import (
	"strings"
	"testing"
)

// Store URLs name one server, a Sentinel primary or a Redis Cluster, and
// their passwords never show in what the switch logs.
func TestRedisURLs(t *testing.T) {
	for _, c := range []struct {
		url     string
		addrs   []string
		master  string
		cluster bool
		db      int
		pass    string
	}{
		{url: "redis://127.0.0.1:6379/2", addrs: []string{"127.0.0.1:6379"}, db: 2},
		{url: "redis://:secret@10.0.0.5:6380", addrs: []string{"10.0.0.5:6380"}, pass: "secret"},
		{url: "redis://10.0.0.1:26379/1?master_name=main&addr=10.0.0.2:26379&password=p1", addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, master: "main", db: 1, pass: "p1"},
		{url: "redis://u:p2@10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}, cluster: true, pass: "p2"},
	} {
		o, err := redisOptions(c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if strings.Join(o.Addrs, ",") != strings.Join(c.addrs, ",") || o.MasterName != c.master || o.IsClusterMode != c.cluster || o.DB != c.db || o.Password != c.pass {
			t.Errorf("%s: %+v", c.url, o)
		}
		if r := redactURL(c.url); c.pass != "" && strings.Contains(r, c.pass) {
			t.Errorf("%s shows as %s", c.url, r)
		}
	}
	for _, bad := range []string{"redis://h:1?master_name=", "redis://h:1?addr=", "http://h:1", "redis://h:1/x", "redis://h:1?master_name=m&bogus=1"} {
		if o, err := redisOptions(bad); err == nil {
			t.Errorf("%s accepted: %+v", bad, o)
		}
	}
}
