package wire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// serve listens on loopback and runs handle on the one connection it
// accepts; hold is closed when the test ends. The returned conn is the
// client's.
func serve(t *testing.T, handle func(c *net.TCPConn, hold <-chan struct{})) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done, hold := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		handle(c.(*net.TCPConn), hold)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(hold); c.Close(); ln.Close(); <-done })
	return c
}

func TestExpectRead(t *testing.T) {
	rules := []Rule{
		{regexp.MustCompile(`^\+PONG`), "pong"},
		{regexp.MustCompile(`^-ERR max number of clients reached`), "refused"},
		{regexp.MustCompile(`(?s)^\x16\x03[\x01-\x04]..\x02`), "server-hello"},
	}
	tests := []struct {
		name      string
		expect    Expect
		send      []byte
		server    func(c *net.TCPConn, hold <-chan struct{})
		wantLine  string
		wantBytes int
		wantClass string
		wantErr   error // nil: complete
		wantCut   bool
	}{
		{
			name:   "a line: stops at the newline, the rest stays unread",
			expect: Expect{Rules: rules},
			server: func(c *net.TCPConn, hold <-chan struct{}) {
				c.Write([]byte("+PONG\r\n"))
				<-hold
				c.Close()
			},
			wantLine: "+PONG", wantBytes: 7, wantClass: "pong",
		},
		{
			name:   "refused then closed: the line is complete, no error",
			expect: Expect{Rules: rules},
			server: func(c *net.TCPConn, hold <-chan struct{}) {
				c.Write([]byte("-ERR max number of clients reached\r\n"))
				c.Close()
			},
			wantLine: "-ERR max number of clients reached", wantBytes: 36, wantClass: "refused",
		},
		{
			name:    "closed without a word: io.EOF",
			expect:  Expect{Rules: rules},
			server:  func(c *net.TCPConn, hold <-chan struct{}) { c.Close() },
			wantErr: io.EOF,
		},
		{
			name:     "half a line then closed: io.EOF, bytes kept",
			expect:   Expect{Rules: rules},
			server:   func(c *net.TCPConn, hold <-chan struct{}) { c.Write([]byte("+PO")); c.Close() },
			wantLine: "+PO", wantBytes: 3, wantErr: io.EOF,
		},
		{
			name:   "reset: ECONNRESET",
			expect: Expect{Rules: rules},
			send:   []byte("PING\r\n"),
			server: func(c *net.TCPConn, hold <-chan struct{}) {
				c.Read(make([]byte, 16)) // reset after the handshake is complete on both sides
				c.SetLinger(0)
				c.Close()
			},
			wantErr: syscall.ECONNRESET,
		},
		{
			name:    "nothing said: the timeout",
			expect:  Expect{Timeout: 50 * time.Millisecond, Rules: rules},
			server:  func(c *net.TCPConn, hold <-chan struct{}) { <-hold; c.Close() },
			wantErr: os.ErrDeadlineExceeded,
		},
		{
			name:   "binary: reads MaxBytes across a newline byte",
			expect: Expect{Binary: true, MaxBytes: 6, Rules: rules},
			server: func(c *net.TCPConn, hold <-chan struct{}) {
				c.Write([]byte{0x16, 0x03, 0x03, 0x00, 0x0a})
				time.Sleep(10 * time.Millisecond)
				c.Write([]byte{0x02, 0xff, 0xff})
				<-hold
				c.Close()
			},
			wantLine: `\x16\x03\x03\0\n\x02`, wantBytes: 6, wantClass: "server-hello",
		},
		{
			name:     "MaxBytes without a newline ends the read",
			expect:   Expect{MaxBytes: 4},
			server:   func(c *net.TCPConn, hold <-chan struct{}) { c.Write([]byte("abcdefgh")); <-hold; c.Close() },
			wantLine: "abcd", wantBytes: 4,
		},
		{
			name:     "a long line is cut to FirstLineMax, whole escapes only",
			expect:   Expect{FirstLineMax: 6},
			server:   func(c *net.TCPConn, hold <-chan struct{}) { c.Write([]byte("ab\x01cdef\n")); <-hold; c.Close() },
			wantLine: `ab\x01`, wantBytes: 8, wantCut: true,
		},
		{
			name:   "no rule matches: empty class",
			expect: Expect{Rules: rules},
			server: func(c *net.TCPConn, hold <-chan struct{}) {
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\n"))
				<-hold
				c.Close()
			},
			wantLine: "HTTP/1.1 400 Bad Request", wantBytes: 26,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, tt.server)
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			r := tt.expect.Read(c)
			if tt.wantErr == nil && r.Err != nil {
				t.Fatalf("Read() error = %v, want none", r.Err)
			}
			if tt.wantErr != nil && !errors.Is(r.Err, tt.wantErr) {
				t.Fatalf("Read() error = %v, want %v", r.Err, tt.wantErr)
			}
			if r.FirstLine != tt.wantLine || r.Bytes != tt.wantBytes || r.Class != tt.wantClass || r.Cut != tt.wantCut {
				t.Errorf("Read() = line %q, %d bytes, class %q, cut %v; want %q, %d, %q, %v",
					r.FirstLine, r.Bytes, r.Class, r.Cut, tt.wantLine, tt.wantBytes, tt.wantClass, tt.wantCut)
			}
			if got, want := r.Timeout(), errors.Is(tt.wantErr, os.ErrDeadlineExceeded); got != want {
				t.Errorf("Timeout() = %v, want %v", got, want)
			}
		})
	}
}

// TestExpectReadClearsDeadline: a connection read by Read can be used with
// no deadline left on it.
func TestExpectReadClearsDeadline(t *testing.T) {
	second := make(chan struct{})
	c := serve(t, func(c *net.TCPConn, _ <-chan struct{}) {
		c.Write([]byte("+PONG\r\n"))
		<-second
		c.Write([]byte("x"))
		c.Close()
	})
	if r := (Expect{Timeout: 20 * time.Millisecond}).Read(c); r.Err != nil {
		t.Fatal(r.Err)
	}
	time.AfterFunc(50*time.Millisecond, func() { close(second) })
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil {
		t.Fatalf("Read after Expect.Read: %v, want the byte sent 50ms later", err)
	}
}

func TestClassifyLatin1(t *testing.T) {
	rules := []Rule{
		{regexp.MustCompile(`^\x05\xff`), "no-method"},
		{regexp.MustCompile(`^\x05\x00`), "ok"},
	}
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{5, 0xff}, "no-method"},
		{[]byte{5, 0}, "ok"},
		{[]byte{5, 0xc3, 0xbf}, ""}, // U+00FF in UTF-8 is two bytes: not the byte ff
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Classify(rules, tt.in); got != tt.want {
			t.Errorf("Classify(%x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCompileRules(t *testing.T) {
	rules, err := CompileRules([]RuleSpec{{Match: `^\+PONG`, Class: "pong"}})
	if err != nil || len(rules) != 1 || rules[0].Class != "pong" {
		t.Fatalf("CompileRules() = %v, %v", rules, err)
	}
	_, err = CompileRules([]RuleSpec{{Match: `(`, Class: "a"}, {Match: `x`}, {Match: `[`, Class: "b"}})
	if !errors.Is(err, ErrNoClass) {
		t.Fatalf("CompileRules() error = %v, want ErrNoClass among them", err)
	}
	if got, want := len(err.(interface{ Unwrap() []error }).Unwrap()), 3; got != want {
		t.Errorf("CompileRules() reported %d errors, want %d (all at once)", got, want)
	}
}

// TestGreetingHTTPGet: the GET greeting against net/http gets class http-ok.
func TestGreetingHTTPGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(HTTPGet.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := HTTPGet.Expect.Read(c)
	if r.Err != nil || r.Class != HTTPGet.Want || r.FirstLine != "HTTP/1.1 200 OK" {
		t.Errorf("reply %q class %q err %v, want HTTP/1.1 200 OK, %s", r.FirstLine, r.Class, r.Err, HTTPGet.Want)
	}
}

// TestGreetingTLSClientHello: crypto/tls as a server (ECDSA P-256
// certificate) answers the fixed ClientHello with a ServerHello.
func TestGreetingTLSClientHello(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nobufs"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	c := serve(t, func(c *net.TCPConn, _ <-chan struct{}) {
		s := tls.Server(c, cfg)
		s.SetDeadline(time.Now().Add(5 * time.Second))
		_ = s.Handshake() // fails when the client goes away; the ServerHello is out by then
		c.Close()
	})
	if _, err := c.Write(TLSClientHello.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := TLSClientHello.Expect.Read(c)
	if r.Err != nil || r.Class != ClassTLSServerHello {
		t.Errorf("reply %s class %q err %v, want %s", r.FirstLine, r.Class, r.Err, ClassTLSServerHello)
	}
}
