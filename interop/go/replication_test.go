package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// TestReplicatedMessagesReadFromTheSlave runs a name server, a SYNC_MASTER and its slave as separate
// `ferrocket` processes. The Go producer sends through the master; every SEND_OK means the slave has
// the message. The master is then killed with SIGKILL, and the Go pull consumer, finding only the
// slave in the route, reads every acknowledged message from it at the queue offsets the sends
// reported. (The Go client commits offsets only to a master, so a Go consumer keeps its offsets in
// memory while the master is down; reading is what it does on a slave.)
func TestReplicatedMessagesReadFromTheSlave(t *testing.T) {
	bin := ferrocketBinary(t)
	dir := t.TempDir()
	nsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startNode(t, bin, dir, "namesrv", "namesrv", "--listen", nsAddr)
	masterPort := freeBrokerPort(t, 0)
	slavePort := freeBrokerPort(t, masterPort)
	masterAddr := fmt.Sprintf("127.0.0.1:%d", masterPort)
	slaveAddr := fmt.Sprintf("127.0.0.1:%d", slavePort)
	master := startBroker(t, bin, dir, nsAddr, "master", masterPort,
		"brokerId=0\nbrokerRole=SYNC_MASTER\n")
	slave := startBroker(t, bin, dir, nsAddr, "slave", slavePort, fmt.Sprintf(
		"brokerId=1\nbrokerRole=SLAVE\nhaMasterAddress=127.0.0.1:%d\n", masterPort+1))

	resolver := primitive.NewPassthroughResolver([]string{nsAddr})
	a, err := admin.NewAdmin(admin.WithResolver(resolver))
	if err != nil {
		t.Fatalf("new admin: %v", err)
	}
	t.Cleanup(func() { shutdownWithin(t, "admin", a.Close) })
	topic := uniqueName(t, "T")
	s := &standalone{NameServerAddr: nsAddr, BrokerAddr: masterAddr}
	mqs := createTopic(t, s, a, topic, 4)
	// SlaveSynchronize copies the topic within 10 s; a slave without it cannot serve it.
	waitUntil(t, 30*time.Second, "the slave takes the topic from its master", func() bool {
		body, err := allTopicConfig(slaveAddr)
		return err == nil && strings.Contains(body, `"`+topic+`"`)
	})

	p := newProducer(t, s, producer.WithNsResolver(resolver), producer.WithRetry(0))
	acked := expectedSet{}
	unacked := map[string]bool{}
	perQueue := map[int]int64{}
	for i := 0; len(acked) < 60; i++ {
		if i > 600 {
			t.Fatalf("only %d of 60 sends acknowledged by the SYNC_MASTER after %d attempts", len(acked), i)
		}
		e := newExpected(topic, "ha", i)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := p.SendSync(ctx, e.message())
		cancel()
		// SLAVE_NOT_AVAILABLE until the slave has connected: stored, but not counted
		if err != nil || res.Status != primitive.SendOK {
			unacked[e.seq] = true
			time.Sleep(100 * time.Millisecond)
			continue
		}
		e.result = res
		acked.add(e)
		if end := res.QueueOffset + 1; end > perQueue[res.MessageQueue.QueueId] {
			perQueue[res.MessageQueue.QueueId] = end
		}
	}

	master.kill()
	waitUntil(t, 30*time.Second, "the name server routes only the slave", func() bool {
		out, err := exec.Command(bin, "admin", "topicRoute", "-n", nsAddr, "-t", topic).CombinedOutput()
		return err == nil && !strings.Contains(string(out), masterAddr) && strings.Contains(string(out), slaveAddr)
	})

	pc, err := rocketmq.NewPullConsumer(
		consumer.WithNsResolver(resolver),
		consumer.WithGroupName(uniqueName(t, "CG_slave")),
		consumer.WithInstance(uniqueName(t, "slave_reader")),
		consumer.WithConsumerModel(consumer.Clustering),
	)
	if err != nil {
		t.Fatalf("new pull consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		t.Fatalf("pull consumer subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("start pull consumer: %v", err)
	}
	t.Cleanup(func() { shutdownWithin(t, "pull consumer", pc.Shutdown) })

	got := map[string][]received{}
	for _, mq := range mqs {
		queue := *mq
		var offset int64
		deadline := time.Now().Add(30 * time.Second)
		for offset < perQueue[queue.QueueId] {
			if time.Now().After(deadline) {
				t.Fatalf("queue %d: read up to offset %d of %d from the slave %s%s", queue.QueueId, offset,
					perQueue[queue.QueueId], slaveAddr, slave.out.tail(40))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := pc.PullFrom(ctx, &queue, offset, 32)
			cancel()
			if err != nil || res.Status != primitive.PullFound {
				t.Logf("queue %d at %d: %v %v", queue.QueueId, offset, res, err)
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for _, m := range res.GetMessageExts() {
				seq := m.GetProperty(seqProperty)
				got[seq] = append(got[seq], received{msg: m, at: time.Now()})
			}
			offset = res.NextBeginOffset
		}
	}
	for seq := range unacked {
		delete(got, seq)
	}
	// the slave's copy keeps the master's store host
	checkExactlyOnce(t, "read from the slave", got, acked, masterAddr)
	t.Logf("read %d acknowledged messages from the slave after the master was killed", len(acked))
}

// node is one `ferrocket` process of a replica layout; it is killed when the test ends.
type node struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

// startNode starts `ferrocket args...` in dir and waits for its ready line on stdout.
func startNode(t *testing.T, bin, dir, name string, args ...string) *node {
	t.Helper()
	n := &node{cmd: exec.Command(bin, args...), out: &lockedBuffer{}, exited: make(chan struct{})}
	n.cmd.Dir = dir
	n.cmd.Env = append(os.Environ(), "RUST_LOG=info")
	n.cmd.Stdout = n.out
	n.cmd.Stderr = n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", name, err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, n.out.tail(outputTailLines))
		}
	})
	waitUntil(t, startTimeout, name+" is ready", func() bool { return strings.Contains(n.out.since(0), readyMarker) })
	return n
}

// startBroker starts a broker of broker-a with the given role lines, small commit log files and short
// HA intervals.
func startBroker(t *testing.T, bin, dir, ns, name string, port int, role string) *node {
	t.Helper()
	conf := filepath.Join(dir, name+".conf")
	body := fmt.Sprintf("brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerIP1=127.0.0.1\n"+
		"listenPort=%d\nnamesrvAddr=%s\nconsoleEnable=false\nmappedFileSizeCommitLog=4194304\n"+
		"haSendHeartbeatInterval=1000\nsyncFlushTimeout=3000\n%s", port, ns, role)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatalf("write %s: %v", conf, err)
	}
	return startNode(t, bin, dir, name, "broker", "-c", conf, "--store", filepath.Join(dir, name+"-store"))
}

// allTopicConfig asks a broker for its topic table (GET_ALL_TOPIC_CONFIG, code 21) in one remoting
// frame: length, serialize type 0 (JSON) with the header length, the JSON header; the answer the same.
func allTopicConfig(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	header := []byte(`{"code":21,"flag":0,"language":"GO","opaque":1,"serializeTypeCurrentRPC":"JSON","version":401}`)
	frame := make([]byte, 8, 8+len(header))
	binary.BigEndian.PutUint32(frame[0:], uint32(4+len(header)))
	binary.BigEndian.PutUint32(frame[4:], uint32(len(header)))
	if _, err := conn.Write(append(frame, header...)); err != nil {
		return "", err
	}
	var lengths [8]byte
	if _, err := io.ReadFull(conn, lengths[:]); err != nil {
		return "", err
	}
	total := binary.BigEndian.Uint32(lengths[0:])
	headerLen := binary.BigEndian.Uint32(lengths[4:]) & 0xFFFFFF
	if total > 16<<20 || headerLen+4 > total {
		return "", fmt.Errorf("bad frame from %s: length %d, header %d", addr, total, headerLen)
	}
	rest := make([]byte, total-4)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return "", err
	}
	if !strings.Contains(string(rest[:headerLen]), `"code":0`) {
		return "", fmt.Errorf("GET_ALL_TOPIC_CONFIG at %s answered %s", addr, rest[:headerLen])
	}
	return string(rest[headerLen:]), nil
}

// since returns what was written after the first `from` bytes.
func (b *lockedBuffer) since(from int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[from:])
}

// kill sends SIGKILL (a crash) and waits for the exit.
func (n *node) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// waitUntil polls check until it holds, failing the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
