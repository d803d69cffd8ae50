package interop

import (
	"testing"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
)

// sql92Expression selects on the tag, a numeric user property, a BETWEEN range and a property that
// only some messages have.
const sql92Expression = "(TAGS = 'TagA' OR orderId BETWEEN 1040 AND 1049) AND orderId >= 1010 AND bonus IS NULL"

// TestSql92Filter subscribes a Go push consumer with consumer.MessageSelector{Type: consumer.SQL92} on a
// broker with enablePropertyFilter=true. The Go client pulls without the expression, so the broker
// filters with the selector it compiled from the heartbeat; exactly the matching messages must arrive.
func TestSql92Filter(t *testing.T) {
	s := startStandaloneWith(t, "enablePropertyFilter=true\n")
	topic := uniqueName(t, "T")
	p := newProducer(t, s)

	want := expectedSet{}
	for i := 0; i < 80; i++ {
		e := newExpected(topic, "sql", i)
		if i%7 == 0 {
			e.props["bonus"] = "yes"
		}
		e.result = sendSync(t, p, e.message())
		orderID := 1000 + i
		if (e.tag == "TagA" || (orderID >= 1040 && orderID <= 1049)) && orderID >= 1010 && i%7 != 0 {
			want.add(e)
		}
	}
	waitRoute(t, newAdmin(t, s), topic)

	group := uniqueName(t, "CG_sql92")
	in := newInbox()
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNsResolver(s.resolver()),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "consumer")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	selector := consumer.MessageSelector{Type: consumer.SQL92, Expression: sql92Expression}
	if err := c.Subscribe(topic, selector, in.handle); err != nil {
		t.Fatalf("subscribe %s with SQL92: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer (group %s): %v", group, err)
	}
	t.Cleanup(func() { shutdownWithin(t, "push consumer "+group, c.Shutdown) })

	what := "SQL92 subscription " + sql92Expression
	in.waitAll(t, what, want)
	checkExactlyOnce(t, what, in.snapshot(), want, s.BrokerAddr)
}
