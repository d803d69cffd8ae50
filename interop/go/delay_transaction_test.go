package interop

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// TestDelayLevels sends messages with WithDelayTimeLevel against a broker whose messageDelayLevel makes
// level n wait n seconds, and checks that each reaches its topic no earlier than its delay.
func TestDelayLevels(t *testing.T) {
	levels := "1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 11s 12s 13s 14s 15s 16s 17s 18s"
	s := startStandaloneWith(t, "messageDelayLevel="+levels+"\n")
	topic := uniqueName(t, "T")
	p := newProducer(t, s)
	want := expectedSet{}
	levelOf := map[string]int64{}
	for _, level := range []int{1, 3, 5} {
		e := newExpected(topic, "delay", level)
		e.result = sendSync(t, p, e.message().WithDelayTimeLevel(level))
		want.add(e)
		levelOf[e.seq] = int64(level)
	}
	waitRoute(t, newAdmin(t, s), topic)
	in := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG"), topic, "*", in)
	in.waitAll(t, "delayed messages", want)
	for seq, got := range in.snapshot() {
		m := got[0].msg
		waited := m.StoreTimestamp - m.BornTimestamp
		if waited < levelOf[seq]*1000 {
			t.Errorf("%s (level %d) reached its topic %d ms after it was sent, before its %d s delay",
				seq, levelOf[seq], waited, levelOf[seq])
		}
		if len(got) != 1 {
			t.Errorf("%s delivered %d times", seq, len(got))
		}
	}
}

// txListener commits or rolls back by the message's body and answers checks the same way.
type txListener struct {
	mu      sync.Mutex
	local   map[string]primitive.LocalTransactionState
	checked map[string]int
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.local[m.GetProperty(seqProperty)]
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := m.GetProperty(seqProperty)
	l.checked[seq]++
	return primitive.CommitMessageState
}

// TestTransactions drives the Go TransactionProducer: a committed message is delivered, a rolled back one
// never is, and one left UNKNOW is checked back (CHECK_TRANSACTION_STATE) and then delivered once.
func TestTransactions(t *testing.T) {
	s := startStandaloneWith(t, "transactionTimeOut=1000\ntransactionCheckInterval=1000\n")
	topic := uniqueName(t, "T")
	listener := &txListener{local: map[string]primitive.LocalTransactionState{}, checked: map[string]int{}}
	p, err := rocketmq.NewTransactionProducer(listener,
		producer.WithNsResolver(s.resolver()),
		producer.WithGroupName(uniqueName(t, "PG")),
		producer.WithInstanceName(uniqueName(t, "producer")),
		producer.WithSendMsgTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("new transaction producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start transaction producer: %v", err)
	}
	t.Cleanup(func() { shutdownWithin(t, "transaction producer", p.Shutdown) })

	states := []primitive.LocalTransactionState{primitive.CommitMessageState, primitive.RollbackMessageState,
		primitive.UnkonwnState}
	want := expectedSet{}
	rolledBack := ""
	for i, state := range states {
		e := newExpected(topic, "tx", i)
		listener.mu.Lock()
		listener.local[e.seq] = state
		listener.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		res, err := p.SendMessageInTransaction(ctx, e.message())
		cancel()
		if err != nil {
			t.Fatalf("SendMessageInTransaction %s: %v", e.seq, err)
		}
		if res.State != state {
			t.Fatalf("%s: local state %v, want %v", e.seq, res.State, state)
		}
		if state == primitive.RollbackMessageState {
			rolledBack = e.seq
		} else {
			e.result = res.SendResult
			want.add(e)
		}
	}
	waitRoute(t, newAdmin(t, s), topic)
	in := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG"), topic, "*", in)
	in.waitAll(t, "committed transactional messages", want)
	time.Sleep(3 * time.Second)
	got := in.snapshot()
	if n := len(got[rolledBack]); n != 0 {
		t.Errorf("rolled back %s was delivered %d times", rolledBack, n)
	}
	for seq := range want {
		if n := len(got[seq]); n != 1 {
			t.Errorf("%s delivered %d times, want once", seq, n)
		}
	}
	listener.mu.Lock()
	defer listener.mu.Unlock()
	unknown := "tx-2"
	checks := listener.checked[unknown]
	for seq, n := range listener.checked {
		if seq != unknown {
			t.Errorf("%s was resolved by the producer yet checked %d times", seq, n)
		}
	}
	if checks != 1 {
		t.Errorf("the UNKNOW transaction was checked %d times, want once: %v", checks, listener.checked)
	}
}

// TestTimerMessages sends messages with WithDelayTimestamp (TIMER_DELIVER_MS), restarts the broker before
// they are due and checks that each still reaches its topic, no earlier than asked.
func TestTimerMessages(t *testing.T) {
	s := startStandalone(t)
	topic := uniqueName(t, "T")
	p := newProducer(t, s)
	want := expectedSet{}
	notBefore := map[string]int64{}
	start := time.Now()
	for i := 0; i < 3; i++ {
		e := newExpected(topic, "timer", i)
		at := start.Add(time.Duration(5+i) * time.Second)
		e.result = sendSync(t, p, e.message().WithDelayTimestamp(at))
		want.add(e)
		notBefore[e.seq] = at.UnixMilli()
	}
	s.restart(t)
	in := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG"), topic, "*", in)
	in.waitAll(t, "timer messages", want)
	for seq, got := range in.snapshot() {
		m := got[0].msg
		if m.StoreTimestamp < notBefore[seq] {
			t.Errorf("%s reached its topic at %d, before its delivery time %d", seq, m.StoreTimestamp, notBefore[seq])
		}
		if len(got) != 1 {
			t.Errorf("%s delivered %d times", seq, len(got))
		}
	}
}
