package wire

import (
	"regexp"
	"time"
)

// Greeting is a protocol's first word with how its answer is read: the
// payload as a scenario writes it, the Expect that reads the answer, and
// the class a good answer gets. Bytes returns the payload's bytes.
type Greeting struct {
	Name    string
	Payload Payload
	Expect  Expect
	// Want is the class of a good answer.
	Want string
}

// Bytes returns the greeting's payload bytes. The greetings below parse by
// construction (a test checks them); Bytes panics on a Greeting whose
// payload does not.
func (g Greeting) Bytes() []byte {
	b, err := ParsePayload(g.Payload)
	if err != nil {
		panic("wire: greeting " + g.Name + ": " + err.Error())
	}
	return b
}

// Classes the greetings' rules give.
const (
	ClassHTTPOK         = "http-ok"
	ClassHTTPError      = "http-error"
	ClassRESPPong       = "resp-pong"
	ClassServerRefused  = "server-refused"
	ClassRESPError      = "resp-error"
	ClassSOCKS5OK       = "socks5-ok"
	ClassSOCKS5NoMethod = "socks5-no-method"
	ClassTLSServerHello = "tls-server-hello"
	ClassTLSAlert       = "tls-alert"
)

var (
	// HTTPGet is an HTTP/1.1 GET of /; nginx answers "HTTP/1.1 200 OK" (or
	// 404, which is also an answer: class http-error).
	HTTPGet = Greeting{
		Name:    "http-get",
		Payload: Payload{Text: `GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: nobufs\r\n\r\n`},
		Expect: Expect{Rules: []Rule{
			{regexp.MustCompile(`^HTTP/1\.[01] [123]\d\d`), ClassHTTPOK},
			{regexp.MustCompile(`^HTTP/1\.[01] [45]\d\d`), ClassHTTPError},
		}},
		Want: ClassHTTPOK,
	}

	// RESPPing is redis's PING in RESP; redis answers "+PONG", or
	// "-ERR max number of clients reached" beyond maxclients (class
	// server-refused) and then closes the connection.
	RESPPing = Greeting{
		Name:    "resp-ping",
		Payload: Payload{Text: `PING\r\n`},
		Expect: Expect{Rules: []Rule{
			{regexp.MustCompile(`^\+PONG\r?\n`), ClassRESPPong},
			{regexp.MustCompile(`^-ERR max number of clients reached`), ClassServerRefused},
			{regexp.MustCompile(`^-`), ClassRESPError},
		}},
		Want: ClassRESPPong,
	}

	// SOCKS5Hello offers SOCKS5's "no authentication" method (05 01 00); a
	// SOCKS5 server (tor's SocksPort) picks it: 05 00.
	SOCKS5Hello = Greeting{
		Name:    "socks5-hello",
		Payload: Payload{Hex: "05 01 00"},
		Expect: Expect{Binary: true, MaxBytes: 2, Rules: []Rule{
			{regexp.MustCompile(`^\x05\x00`), ClassSOCKS5OK},
			{regexp.MustCompile(`^\x05\xff`), ClassSOCKS5NoMethod},
		}},
		Want: ClassSOCKS5OK,
	}

	// TLSClientHello is a TLS 1.2 ClientHello (no SNI; ECDHE with AES-GCM
	// and ChaCha20 suites; X25519 and P-256; a fixed "random"). Tor's ORPort
	// speaks TLS and answers with a ServerHello record (16 03 03 .. .. 02);
	// the first 6 bytes are read: the record header and the handshake type.
	// Generated once with crypto/tls (MaxVersion TLS 1.2, a constant Rand).
	TLSClientHello = Greeting{
		Name: "tls12-client-hello",
		Payload: Payload{Hex: `
16 03 01 00 be 01 00 00 ba 03 03
42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42
20 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42 42
00 0c c0 2b c0 2f c0 2c c0 30 cc a9 cc a8
01 00
00 65
00 0b 00 02 01 00
ff 01 00 01 00
00 17 00 00
00 12 00 00
00 05 00 05 01 00 00 00 00
00 0a 00 06 00 04 00 1d 00 17
00 0d 00 16 00 14 08 04 04 03 08 07 08 05 08 06 04 01 05 01 06 01 05 03 06 03
00 32 00 1a 00 18 08 04 04 03 08 07 08 05 08 06 04 01 05 01 06 01 05 03 06 03 02 01 02 03
00 2b 00 03 02 03 03`},
		Expect: Expect{Binary: true, MaxBytes: 6, Timeout: 3 * time.Second, Rules: []Rule{
			{regexp.MustCompile(`(?s)^\x16\x03[\x01-\x04]..\x02`), ClassTLSServerHello},
			{regexp.MustCompile(`^\x15\x03`), ClassTLSAlert},
		}},
		Want: ClassTLSServerHello,
	}
)

// Greetings returns the greetings above.
func Greetings() []Greeting { return []Greeting{HTTPGet, RESPPing, SOCKS5Hello, TLSClientHello} }
