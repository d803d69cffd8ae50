package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// binaryEnv names the environment variable that overrides the binary location.
	binaryEnv = "FERROCKET_BIN"
	// defaultBinary is the cargo debug build, relative to this directory.
	defaultBinary = "../../target/debug/ferrocket"
	// readyMarker is printed on stdout once the name server and the broker serve.
	readyMarker = "is ready"
	// startTimeout bounds the wait for readyMarker.
	startTimeout = 30 * time.Second
	// stopTimeout bounds the graceful stop after SIGTERM.
	stopTimeout = 15 * time.Second
	// outputTailLines is how much process output a failing test prints.
	outputTailLines = 400
)

// lockedBuffer collects process output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns at most n trailing lines.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	if len(lines) > n {
		skipped := len(lines) - n
		lines = append([]string{fmt.Sprintf("... (%d earlier lines omitted)", skipped)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// standalone is one running `ferrocket standalone` process (name server and broker).
type standalone struct {
	bin        string
	storeDir   string
	confPath   string
	nsPort     int
	brokerPort int

	// NameServerAddr is HOST:PORT of the name server.
	NameServerAddr string
	// BrokerAddr is HOST:PORT of the broker.
	BrokerAddr string

	out  *lockedBuffer
	proc *process
}

// process is one launch of the binary.
type process struct {
	cmd     *exec.Cmd
	ready   chan struct{}
	exited  chan struct{}
	waitErr error
}

// ferrocketBinary resolves the binary or fails the test: a missing server is a failure, not a skip.
func ferrocketBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv(binaryEnv)
	source := "$" + binaryEnv
	if path == "" {
		path = defaultBinary
		source = "default location"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("cannot resolve ferrocket binary path %q: %v", path, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("ferrocket binary not found at %s (%s): %v\n"+
			"build it with `cargo build -p ferrocket` in the workspace root, or point %s at an existing binary",
			abs, source, err, binaryEnv)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		t.Fatalf("ferrocket binary at %s (%s) is not an executable file", abs, source)
	}
	return abs
}

// canListen reports whether 127.0.0.1:port is free right now.
func canListen(port int) bool {
	if port <= 0 || port > 65535 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// freePort asks the kernel for an unused loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeBrokerPort picks a listen port whose RocketMQ neighbours (fast port = port-2, HA port = port+1)
// are free as well, because a broker may bind them too.
func freeBrokerPort(t *testing.T, avoid int) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		p := freePort(t)
		if p == avoid || p-2 == avoid || p+1 == avoid {
			continue
		}
		if canListen(p-2) && canListen(p+1) {
			return p
		}
	}
	t.Fatalf("cannot find a free broker port with free neighbours")
	return 0
}

// brokerConf is the broker properties file handed to `-c`.
func brokerConf(listenPort int) string {
	return fmt.Sprintf("brokerClusterName=DefaultCluster\n"+
		"brokerName=broker-a\n"+
		"brokerId=0\n"+
		"brokerIP1=127.0.0.1\n"+
		"listenPort=%d\n"+
		"autoCreateTopicEnable=true\n"+
		// small commit log files keep each test's store cheap to create and delete
		"mappedFileSizeCommitLog=67108864\n", listenPort)
}

// startStandalone launches `ferrocket standalone` on fresh ports and a fresh store, waits until it is
// ready and stops it (SIGTERM) when the test ends. On failure the process output is logged.
func startStandalone(t *testing.T) *standalone {
	t.Helper()
	return startStandaloneWith(t, "")
}

// startStandaloneWith is startStandalone with extra broker properties lines appended to the config.
func startStandaloneWith(t *testing.T, extraConf string) *standalone {
	t.Helper()
	bin := ferrocketBinary(t)
	dir := t.TempDir()
	s := &standalone{
		bin:      bin,
		storeDir: filepath.Join(dir, "store"),
		confPath: filepath.Join(dir, "broker.conf"),
		out:      &lockedBuffer{},
	}
	s.nsPort = freePort(t)
	s.brokerPort = freeBrokerPort(t, s.nsPort)
	s.NameServerAddr = fmt.Sprintf("127.0.0.1:%d", s.nsPort)
	s.BrokerAddr = fmt.Sprintf("127.0.0.1:%d", s.brokerPort)
	if err := os.WriteFile(s.confPath, []byte(brokerConf(s.brokerPort)+extraConf), 0o644); err != nil {
		t.Fatalf("write broker config: %v", err)
	}

	mark := clientLogs.mark()
	t.Cleanup(func() {
		if s.proc != nil && !s.proc.hasExited() {
			if err := s.stop(); err != nil {
				t.Logf("stopping ferrocket: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("ferrocket output (store %s, name server %s, broker %s):\n%s",
				s.storeDir, s.NameServerAddr, s.BrokerAddr, s.out.tail(outputTailLines))
			if lines := clientLogs.since(mark, 200); lines != "" {
				t.Logf("RocketMQ Go client warnings and errors:\n%s", lines)
			}
		}
	})
	s.launch(t)
	return s
}

// launch starts the process and waits for the ready line.
func (s *standalone) launch(t *testing.T) {
	t.Helper()
	cmd := exec.Command(s.bin, "standalone",
		"--store", s.storeDir,
		"--namesrv-listen", s.NameServerAddr,
		"-c", s.confPath)
	cmd.Stderr = s.out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	fmt.Fprintf(s.out, "$ %s\n", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", s.bin, err)
	}
	p := &process{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	s.proc = p
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
		signalled := false
		for scanner.Scan() {
			line := scanner.Text()
			fmt.Fprintln(s.out, line)
			if !signalled && strings.Contains(line, readyMarker) {
				signalled = true
				close(p.ready)
			}
		}
		p.waitErr = cmd.Wait()
		fmt.Fprintf(s.out, "[process exited: %v]\n", describeExit(p.waitErr))
		close(p.exited)
	}()

	select {
	case <-p.ready:
	case <-p.exited:
		t.Fatalf("ferrocket standalone exited before printing %q (%s); its output follows",
			readyMarker, describeExit(p.waitErr))
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		<-p.exited
		t.Fatalf("ferrocket standalone did not print %q within %s; its output follows",
			readyMarker, startTimeout)
	}
}

// hasExited reports whether the process has terminated.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits; it returns an error unless the process exited by itself with status 0
// within stopTimeout (a graceful stop). A process that does not stop in time is killed.
func (s *standalone) stop() error {
	p := s.proc
	if p.hasExited() {
		return fmt.Errorf("ferrocket had already exited (%s) before it was asked to stop", describeExit(p.waitErr))
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("ferrocket did not exit within %s after SIGTERM; killed", stopTimeout)
	}
	fmt.Fprintf(s.out, "[stopped %v after SIGTERM]\n", time.Since(start).Round(time.Millisecond))
	if p.waitErr != nil {
		return fmt.Errorf("ferrocket did not stop gracefully after SIGTERM: %s", describeExit(p.waitErr))
	}
	return nil
}

// restart stops the process gracefully (failing the test otherwise) and launches it again on the
// same ports and store.
func (s *standalone) restart(t *testing.T) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("graceful stop before restart: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !(canListen(s.nsPort) && canListen(s.brokerPort)) {
		if time.Now().After(deadline) {
			t.Fatalf("ports %d/%d still busy 10 s after ferrocket exited", s.nsPort, s.brokerPort)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.launch(t)
}

// describeExit renders the result of cmd.Wait for humans.
func describeExit(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %v", ws.Signal())
		}
		return fmt.Sprintf("exit status %d", exitErr.ExitCode())
	}
	return err.Error()
}
