package interopv5

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// defaultBinary is the cargo debug build, relative to this directory; FERROCKET_BIN overrides it.
	defaultBinary = "../../target/debug/ferrocket"
	// startTimeout bounds the wait for the ready line and the gRPC line.
	startTimeout = 60 * time.Second
	// stopTimeout bounds the graceful stop after SIGTERM.
	stopTimeout = 15 * time.Second
)

// server is one `ferrocket standalone` with its gRPC port, on loopback and a fresh store.
type server struct {
	cmd    *exec.Cmd
	out    *output
	exited chan struct{}
	// Endpoint is HOST:PORT of the gRPC port the v5 clients talk to.
	Endpoint string
}

// output collects the process output for a failing test and tells when lines were seen.
type output struct {
	mu    sync.Mutex
	lines []string
}

func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines = append(o.lines, line)
}

func (o *output) contains(needles ...string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := 0
	for _, n := range needles {
		for _, l := range o.lines {
			if strings.Contains(l, n) {
				seen++
				break
			}
		}
	}
	return seen == len(needles)
}

func (o *output) tail(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	from := 0
	if len(o.lines) > n {
		from = len(o.lines) - n
	}
	return strings.Join(o.lines[from:], "\n")
}

// binary resolves the ferrocket binary; a missing binary fails the test, it never skips it.
func binary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("FERROCKET_BIN")
	if path == "" {
		path = defaultBinary
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("resolve %q: %v", path, err)
	}
	if info, err := os.Stat(abs); err != nil || info.IsDir() {
		t.Fatalf("ferrocket binary not found at %s (build it with `cargo build -p ferrocket` or set FERROCKET_BIN): %v", abs, err)
	}
	return abs
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer launches ferrocket with the given topics (four queues each, written into the store
// before the start) and extra broker.conf lines; it is stopped when the test ends.
func startServer(t *testing.T, topics []string, extraConf string, prepare ...func(t *testing.T, store string)) *server {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if err := os.MkdirAll(filepath.Join(store, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, topic := range topics {
		table = append(table, fmt.Sprintf(`%q:{"topicName":%q,"readQueueNums":4,"writeQueueNums":4,"perm":6}`, topic, topic))
	}
	topicsJSON := `{"topicConfigTable":{` + strings.Join(table, ",") + `}}`
	if err := os.WriteFile(filepath.Join(store, "config", "topics.json"), []byte(topicsJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range prepare {
		f(t, store)
	}
	grpcPort := freePort(t)
	// haListenPort is chosen too: its default, listenPort + 1, is not known to be free.
	conf := fmt.Sprintf("brokerIP1=127.0.0.1\nlistenPort=%d\nhaListenPort=%d\ngrpcServerPort=%d\n"+
		"consoleEnable=false\nmappedFileSizeCommitLog=67108864\n%s", freePort(t), freePort(t), grpcPort, extraConf)
	confPath := filepath.Join(dir, "broker.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{out: &output{}, exited: make(chan struct{}), Endpoint: fmt.Sprintf("127.0.0.1:%d", grpcPort)}
	s.cmd = exec.Command(binary(t), "standalone", "--store", store,
		"--namesrv-listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "-c", confPath)
	pipe, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start ferrocket: %v", err)
	}
	go func() {
		scanner := bufio.NewScanner(pipe)
		scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for scanner.Scan() {
			s.out.add(scanner.Text())
		}
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("ferrocket output:\n%s", s.out.tail(200))
		}
	})
	deadline := time.Now().Add(startTimeout)
	for !s.out.contains("is ready", "gRPC: ") {
		select {
		case <-s.exited:
			t.Fatalf("ferrocket exited before it was ready:\n%s", s.out.tail(200))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferrocket not ready within %s", startTimeout)
		}
	}
	return s
}

func (s *server) stop(t *testing.T) {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("ferrocket did not stop within %s of SIGTERM", stopTimeout)
	}
}

// withGroups writes the subscription group table into the store before the start.
func withGroups(table string) func(t *testing.T, store string) {
	return func(t *testing.T, store string) {
		if err := os.WriteFile(filepath.Join(store, "config", "subscriptionGroup.json"), []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
