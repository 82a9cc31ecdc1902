// Package rawconn reads and writes a socket with non-blocking system calls
// made without Go's system-call bookkeeping, for a request path whose
// latency is a few hundred microseconds.
//
// Go's runtime wraps each blocking system call (syscall.Syscall, as
// net.Conn's Read and Write use) in entersyscall and exitsyscall, so that a
// call that blocks gives up its P. When every P has been idle for a while,
// the runtime's system monitor (sysmon) sleeps; the next entersyscall wakes
// it with a futex, and it then polls every 20 µs until the process is idle
// again. A proxy that waits on the network between every read and write
// pays that wake-up, and the context switches that follow, twice a
// request: about 40 µs of CPU per request on the benchmark machine.
//
// A socket in Go is non-blocking: its read and write return EAGAIN rather
// than wait, and the wait is the netpoller's. Such calls cannot block, so
// they need none of that bookkeeping: this package makes them with
// syscall.RawSyscall, inside syscall.RawConn's Read and Write, which wait
// on the netpoller, honour the connection's deadlines, and keep the file
// descriptor open while it is used.
//
// What is lost: the race detector does not see the kernel's reads and
// writes of the buffers passed here, as it sees net.Conn's; a buffer
// must not be touched by another goroutine during a call, as with any
// io.Reader or io.Writer.
package rawconn

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Conn is a net.Conn whose Read and Write are raw system calls. Everything
// else — deadlines, Close, addresses — is the wrapped connection's.
type Conn struct {
	net.Conn
	rc syscall.RawConn
	// The calls' arguments and results live here, and the functions
	// syscall.RawConn runs are bound once, so that a call allocates
	// nothing; rmu and wmu keep concurrent calls in one direction apart.
	rmu, wmu sync.Mutex
	rd, wr   op
	readFn   func(fd uintptr) bool
	writeFn  func(fd uintptr) bool
}

// op is one read or write in progress: its buffer, how much of it was
// done, and the error number it ended with.
type op struct {
	p     []byte
	n     int
	errno syscall.Errno
}

// Wrap returns c with raw reads and writes, or c itself when it has no
// file descriptor to make them on.
func Wrap(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	w := &Conn{Conn: c, rc: rc}
	w.readFn, w.writeFn = w.read, w.write
	return w
}

// Read reads into p as net.Conn's Read does: it waits, within the read
// deadline, for at least one byte, and reports io.EOF when the peer has
// closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, errno, err := c.run(&c.rmu, &c.rd, p, false)
	switch {
	case err != nil:
		return 0, err // deadline passed, or closed here
	case errno != 0:
		return 0, c.opError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// run makes one read or write of p through syscall.RawConn, with its
// arguments and results in o, and returns how much was done, the error
// number the system call ended with, and RawConn's own error.
func (c *Conn) run(mu *sync.Mutex, o *op, p []byte, write bool) (int, syscall.Errno, error) {
	mu.Lock()
	defer mu.Unlock()
	*o = op{p: p}
	var err error
	if write {
		err = c.rc.Write(c.writeFn)
	} else {
		err = c.rc.Read(c.readFn)
	}
	n, errno := o.n, o.errno
	o.p = nil
	return n, errno, err
}

// read is the read system call, as syscall.RawConn's Read runs it: false
// to wait on the netpoller.
func (c *Conn) read(fd uintptr) bool {
	p := c.rd.p
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.rd.n, c.rd.errno = int(r), e
		return true
	}
}

// Write writes all of p, waiting within the write deadline while the
// socket's buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	written, errno, err := c.run(&c.wmu, &c.wr, p, true)
	switch {
	case err != nil:
		return written, err
	case errno != 0:
		return written, c.opError("write", errno)
	}
	return written, nil
}

// write is the write system call, repeated until all is written, as
// syscall.RawConn's Write runs it: false to wait on the netpoller.
func (c *Conn) write(fd uintptr) bool {
	p := c.wr.p
	for c.wr.n < len(p) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[c.wr.n])), uintptr(len(p)-c.wr.n))
		switch e {
		case 0:
			c.wr.n += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.wr.errno = e
			return true
		}
	}
	return true
}

// Peek reports, without waiting, whether the connection has bytes to read
// (data), has been closed by the peer (eof), or neither; err is any other
// error on the socket.
func (c *Conn) Peek() (data, eof bool, err error) {
	var buf [1]byte
	var errno syscall.Errno
	var n uintptr
	rerr := c.rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), 1,
				syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
			if errno != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case rerr != nil:
		return false, false, rerr
	case errno == syscall.EAGAIN:
		return false, false, nil
	case errno != 0:
		return false, false, c.opError("recvfrom", errno)
	}
	return n > 0, n == 0, nil
}

func (c *Conn) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}
