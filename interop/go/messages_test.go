package interop

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

const (
	// seqProperty identifies a test message among everything a consumer receives.
	seqProperty = "interopSeq"
	// deliveryTimeout bounds the wait for a consumer to receive every expected message.
	deliveryTimeout = 60 * time.Second
	// duplicateWatch is how long a test keeps listening after the last expected message to catch
	// redeliveries.
	duplicateWatch = 2 * time.Second
	// compressThreshold is the Go producer's default body size above which it zlib-compresses bodies.
	compressThreshold = 4096
)

// expected is what a test sent and expects a consumer to see.
type expected struct {
	seq   string
	topic string
	body  []byte
	tag   string
	keys  []string
	props map[string]string
	// batch is set for members of a batch send, which the Go producer never compresses.
	batch bool
	// result is the SendResult of a single-message send (nil for batch members and one-way sends).
	result *primitive.SendResult
}

// message builds the client message for e.
func (e *expected) message() *primitive.Message {
	m := primitive.NewMessage(e.topic, e.body)
	if e.tag != "" {
		m.WithTag(e.tag)
	}
	if len(e.keys) > 0 {
		m.WithKeys(e.keys)
	}
	for k, v := range e.props {
		m.WithProperty(k, v)
	}
	m.WithProperty(seqProperty, e.seq)
	return m
}

// newExpected builds message number i of a test run: its tag alternates between TagA and TagB, it
// has two keys and three user properties (one non-ASCII), and every 50th body exceeds the
// compression threshold so the compressed-body path (sysFlag bit 0) is covered.
func newExpected(topic, prefix string, i int) *expected {
	seq := fmt.Sprintf("%s-%d", prefix, i)
	size := 64 + i%200
	if i%50 == 7 {
		size = 3 * compressThreshold
	}
	body := make([]byte, size)
	for j := range body {
		// Deterministic, includes zero and high bytes, compressible only partly.
		body[j] = byte((i*31 + j*7 + j*j) % 256)
	}
	copy(body, seq)
	tag := "TagA"
	if i%2 == 1 {
		tag = "TagB"
	}
	return &expected{
		seq:   seq,
		topic: topic,
		body:  body,
		tag:   tag,
		keys:  []string{"key-" + seq, fmt.Sprintf("order-%d", i%10)},
		props: map[string]string{
			"orderId":  strconv.Itoa(1000 + i),
			"region":   "eu-west",
			"greeting": "grüße-" + strconv.Itoa(i),
		},
	}
}

// expectedSet indexes expected messages by seq.
type expectedSet map[string]*expected

func (s expectedSet) add(e *expected) { s[e.seq] = e }

// received is one delivery seen by a consumer.
type received struct {
	msg *primitive.MessageExt
	at  time.Time
}

// inbox records what a push consumer delivers, keyed by seqProperty.
type inbox struct {
	mu      sync.Mutex
	bySeq   map[string][]received
	foreign int
	notify  chan struct{}
}

func newInbox() *inbox {
	return &inbox{bySeq: map[string][]received{}, notify: make(chan struct{}, 1)}
}

// handle is the push consumer callback; it acknowledges everything.
func (b *inbox) handle(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	now := time.Now()
	b.mu.Lock()
	for _, m := range msgs {
		seq := m.GetProperty(seqProperty)
		if seq == "" {
			b.foreign++
			continue
		}
		b.bySeq[seq] = append(b.bySeq[seq], received{msg: m, at: now})
	}
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return consumer.ConsumeSuccess, nil
}

// distinct counts how many different seqs of want have arrived.
func (b *inbox) distinct(want expectedSet) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for seq := range want {
		if len(b.bySeq[seq]) > 0 {
			n++
		}
	}
	return n
}

// snapshot copies the deliveries.
func (b *inbox) snapshot() map[string][]received {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]received, len(b.bySeq))
	for k, v := range b.bySeq {
		out[k] = append([]received(nil), v...)
	}
	return out
}

// waitAll waits until every message of want arrived (then listens duplicateWatch longer) and fails
// the test with the missing seqs otherwise.
func (b *inbox) waitAll(t *testing.T, what string, want expectedSet) {
	t.Helper()
	start := time.Now()
	deadline := time.NewTimer(deliveryTimeout)
	defer deadline.Stop()
	for b.distinct(want) < len(want) {
		select {
		case <-b.notify:
		case <-time.After(200 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("%s: received %d of %d messages within %s; missing: %s",
				what, b.distinct(want), len(want), deliveryTimeout, b.missing(want, 20))
		}
	}
	elapsed := time.Since(start)
	t.Logf("%s: all %d messages arrived after %v", what, len(want), elapsed.Round(time.Millisecond))
	time.Sleep(duplicateWatch)
}

// missing lists up to max seqs of want that have not arrived.
func (b *inbox) missing(want expectedSet, max int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for seq := range want {
		if len(b.bySeq[seq]) == 0 {
			out = append(out, seq)
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... (%d more)", len(out)-max))
	}
	return strings.Join(out, ", ")
}

// checkExactlyOnce fails the test for each message of want not delivered exactly once, for messages
// that were never sent, and verifies every delivered message against what was sent.
func checkExactlyOnce(t *testing.T, what string, got map[string][]received, want expectedSet, storeHost string) {
	t.Helper()
	problems := 0
	report := func(format string, args ...interface{}) {
		problems++
		if problems <= 20 {
			t.Errorf(what+": "+format, args...)
		}
	}
	for seq, e := range want {
		switch n := len(got[seq]); {
		case n == 0:
			report("message %s was never delivered", seq)
		case n > 1:
			report("message %s was delivered %d times", seq, n)
		}
		if len(got[seq]) > 0 {
			for _, p := range compareMessage(e, got[seq][0].msg, storeHost) {
				report("message %s: %s", seq, p)
			}
		}
	}
	for seq := range got {
		if _, ok := want[seq]; !ok {
			report("unexpected message %s delivered", seq)
		}
	}
	if problems > 20 {
		t.Errorf("%s: %d problems in total", what, problems)
	}
}

// compareMessage lists the differences between what was sent and what was delivered.
func compareMessage(e *expected, m *primitive.MessageExt, storeHost string) []string {
	var diffs []string
	if m.Topic != e.topic {
		diffs = append(diffs, fmt.Sprintf("topic %q, want %q", m.Topic, e.topic))
	}
	if !bytes.Equal(m.Body, e.body) {
		diffs = append(diffs, fmt.Sprintf("body differs: got %d bytes, want %d bytes (sysFlag %d)",
			len(m.Body), len(e.body), m.SysFlag))
	}
	if got := m.GetTags(); got != e.tag {
		diffs = append(diffs, fmt.Sprintf("tag %q, want %q", got, e.tag))
	}
	if got, want := m.GetKeys(), strings.Join(e.keys, primitive.PropertyKeySeparator); got != want {
		diffs = append(diffs, fmt.Sprintf("keys %q, want %q", got, want))
	}
	for k, v := range e.props {
		if got := m.GetProperty(k); got != v {
			diffs = append(diffs, fmt.Sprintf("property %s = %q, want %q", k, got, v))
		}
	}
	if m.ReconsumeTimes != 0 {
		diffs = append(diffs, fmt.Sprintf("reconsumeTimes %d, want 0", m.ReconsumeTimes))
	}
	if m.StoreHost != storeHost {
		diffs = append(diffs, fmt.Sprintf("storeHost %q, want %q", m.StoreHost, storeHost))
	}
	if m.BornTimestamp <= 0 || m.StoreTimestamp < m.BornTimestamp-60_000 {
		diffs = append(diffs, fmt.Sprintf("implausible timestamps born=%d store=%d", m.BornTimestamp, m.StoreTimestamp))
	}
	if m.SysFlag&primitive.FlagCompressed == 0 && len(m.Body) > 0 {
		if crc := int32(crc32.ChecksumIEEE(m.Body) & 0x7FFFFFFF); crc != m.BodyCRC {
			diffs = append(diffs, fmt.Sprintf("bodyCRC %d, want %d", m.BodyCRC, crc))
		}
	}
	if !e.batch && len(e.body) >= compressThreshold && m.SysFlag&primitive.FlagCompressed == 0 {
		diffs = append(diffs, fmt.Sprintf("body of %d bytes was sent compressed but sysFlag %d lost the compressed bit",
			len(e.body), m.SysFlag))
	}
	if r := e.result; r != nil {
		if m.MsgId != r.MsgID {
			diffs = append(diffs, fmt.Sprintf("msgId %q, want %q (UNIQ_KEY from the send)", m.MsgId, r.MsgID))
		}
		if m.OffsetMsgId != r.OffsetMsgID {
			diffs = append(diffs, fmt.Sprintf("offsetMsgId %q (from store host and commit log offset %d), "+
				"want %q (msgId in the send response)", m.OffsetMsgId, m.CommitLogOffset, r.OffsetMsgID))
		}
		if m.Queue == nil || m.Queue.QueueId != r.MessageQueue.QueueId {
			diffs = append(diffs, fmt.Sprintf("queue %v, want queueId %d from the send response", m.Queue, r.MessageQueue.QueueId))
		}
		if m.QueueOffset != r.QueueOffset {
			diffs = append(diffs, fmt.Sprintf("queueOffset %d, want %d from the send response", m.QueueOffset, r.QueueOffset))
		}
	}
	return diffs
}

// checkQueueOffsets verifies that send results of single-message sends use every queue offset of a
// queue exactly once, starting at 0, as a ConsumeQueue hands them out.
func checkQueueOffsets(t *testing.T, results []*primitive.SendResult) {
	t.Helper()
	byQueue := map[int][]int64{}
	for _, r := range results {
		byQueue[r.MessageQueue.QueueId] = append(byQueue[r.MessageQueue.QueueId], r.QueueOffset)
	}
	for q, offs := range byQueue {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != int64(i) {
				t.Errorf("queue %d: send results carry queue offsets %v, want 0..%d without gaps or repeats",
					q, offs, len(offs)-1)
				break
			}
		}
	}
}
