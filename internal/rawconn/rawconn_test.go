package rawconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection, the first
// wrapped.
func pair(t testing.TB) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	rc, ok := Wrap(c).(*Conn)
	if !ok {
		t.Fatal("a TCP connection was not wrapped")
	}
	t.Cleanup(func() { rc.Close(); peer.Close() })
	return rc, peer
}

func TestReadWriteAndEOF(t *testing.T) {
	c, peer := pair(t)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "ping" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	go peer.Write([]byte("pong"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "pong" {
		t.Fatalf("read %q, %v; want pong", got, err)
	}
	peer.Close()
	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed: %d, %v; want 0, io.EOF", n, err)
	}
}

// A write larger than the socket buffers waits for the reader and
// delivers every byte, in order.
// A read or write that does not wait allocates nothing: the invocation
// path makes four a request.
func TestReadWriteAllocateNothing(t *testing.T) {
	c, peer := pair(t)
	ping, buf := []byte("ping"), make([]byte, 4)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.Write(ping); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(peer, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.Write(buf); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(buf); {
			m, err := c.Read(buf[n:])
			if err != nil {
				t.Fatal(err)
			}
			n += m
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write and read, want 0", allocs)
	}
}

func TestLargeWrite(t *testing.T) {
	c, peer := pair(t)
	want := make([]byte, 16<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	var got []byte
	var rerr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, rerr = io.ReadAll(io.LimitReader(peer, int64(len(want))))
	}()
	n, err := c.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("write: %d, %v", n, err)
	}
	wg.Wait()
	if rerr != nil || !bytes.Equal(got, want) {
		t.Fatalf("peer got %d bytes (%v), not the %d written", len(got), rerr, len(want))
	}
}

func TestDeadlines(t *testing.T) {
	c, _ := pair(t)
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v; want a timeout", err)
	}
	// Nobody reads the peer: the write fills the buffers and times out,
	// having written some of p.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("write past its deadline: %d, %v; want part written and a timeout", n, err)
	}
}

// A read waiting on the connection returns when it is closed here, as
// net.Conn's does.
func TestCloseWakesRead(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the read wait; the result is the same if it has not begun
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed connection: %v; want net.ErrClosed", err)
	}
}

func TestResetIsAnOpError(t *testing.T) {
	c, peer := pair(t)
	peer.(*net.TCPConn).SetLinger(0) // close with a reset
	c.Write([]byte("unread"))        // unread by the peer: the close resets
	time.Sleep(10 * time.Millisecond)
	peer.Close()
	var err error
	for range 100 {
		if _, err = c.Read(make([]byte, 1)); err != nil {
			break
		}
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Timeout() || err == io.EOF {
		t.Fatalf("read on a reset connection: %v (%T); want a *net.OpError", err, err)
	}
}

func TestPeek(t *testing.T) {
	c, peer := pair(t)
	if data, eof, err := c.Peek(); data || eof || err != nil {
		t.Fatalf("idle connection: data %v, eof %v, %v; want neither", data, eof, err)
	}
	peer.Write([]byte("x"))
	waitFor(t, func() bool { data, _, _ := c.Peek(); return data })
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("Peek consumed the byte: read %q, %v", b, err)
	}
	peer.Close()
	waitFor(t, func() bool { _, eof, _ := c.Peek(); return eof })
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not reached in 5 s")
}

func TestWrapLeavesOtherConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a) != a {
		t.Fatal("a net.Pipe end, which has no file descriptor, was wrapped")
	}
}

// TestMain makes the test binary an echo server when asked, for
// BenchmarkRoundTrip's peer in another process.
func TestMain(m *testing.M) {
	if os.Getenv("RAWCONN_ECHO") == "1" {
		echo()
		return
	}
	os.Exit(m.Run())
}

// echo accepts one connection on a loopback port, prints the port, and
// sends back what it reads until the connection closes.
func echo() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	c, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	io.Copy(c, c)
}

// BenchmarkRoundTrip is a one-byte request and answer to an echo server
// in another process, as a proxy's exchange with a worker: this process
// is idle while it waits. It reports the context switches of this
// process's threads per round trip.
func BenchmarkRoundTrip(b *testing.B) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RAWCONN_ECHO=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var port int
	if _, err := fmt.Fscan(out, &port); err != nil {
		b.Fatal(err)
	}
	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	for _, raw := range []bool{false, true} {
		name := "net.Conn"
		var c net.Conn = nc
		if raw {
			name, c = "rawconn", Wrap(nc)
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 1)
			before := switches(b)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(switches(b)-before)/float64(b.N), "switches/op")
		})
	}
}

// switches is the context switches of this process's threads so far.
func switches(b *testing.B) int {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		b.Skip("no /proc/self/task")
	}
	n := 0
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread has exited
		}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				m, _ := strconv.Atoi(strings.TrimSpace(v))
				n += m
			}
		}
	}
	return n
}
