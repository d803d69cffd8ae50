package interopv5

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

const aclFile = `accounts:
  - accessKey: adminUser1
    secretKey: adminSecret1
    admin: true
  - accessKey: goUser01
    secretKey: goSecret01
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - GoV5Acl=PUB|SUB
`

// With aclEnable=true, a producer and a SimpleConsumer given an account's keys (the Go client signs
// with lower-case hex) send, receive and acknowledge. (A client with a wrong secret key is not tried
// here: its Telemetry stream is refused, and client 5.1.3's Start waits for its settings forever.)
func TestAclCredentials(t *testing.T) {
	const topic = "GoV5Acl"
	aclPath := filepath.Join(t.TempDir(), "plain_acl.yml")
	if err := os.WriteFile(aclPath, []byte(aclFile), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, []string{topic}, fmt.Sprintf("aclEnable=true\naclPlainFile=%s\n"+
		`innerClientAuthenticationCredentials={"accessKey":"adminUser1","secretKey":"adminSecret1"}`+"\n", aclPath))
	signed := func(group, secret string) *rmq.Config {
		return &rmq.Config{Endpoint: s.Endpoint, ConsumerGroup: group,
			Credentials: &credentials.SessionCredentials{AccessKey: "goUser01", AccessSecret: secret}}
	}

	p, err := rmq.NewProducer(signed("", "goSecret01"), rmq.WithTopics(topic))
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.GracefulStop() })
	id := send(t, p, &rmq.Message{Topic: topic, Body: []byte("signed by go")})

	c, err := rmq.NewSimpleConsumer(signed("GoV5AclGroup", "goSecret01"),
		rmq.WithSimpleAwaitDuration(5*time.Second),
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}))
	if err != nil {
		t.Fatalf("new simple consumer: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start simple consumer: %v", err)
	}
	t.Cleanup(func() { _ = c.GracefulStop() })
	got := receiveUntil(t, c, 1, 30*time.Second, 30*time.Second)
	if len(got) != 1 || got[0].GetMessageId() != id || string(got[0].GetBody()) != "signed by go" {
		t.Fatalf("want the signed message %s, got %d messages", id, len(got))
	}
	ack(t, c, got)
}
