// Package wire says something on a connection and reads the answer: the
// payload a connection sends first (a protocol's first word), what its
// reply is expected to look like, and a bounded table of the replies'
// first lines for a summary.
//
// # Payload
//
// A payload is given in exactly one of three forms. In a scenario file:
//
//	payload: {text: 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'}
//	payload: {hex: "16 03 01 00 d6 01 00 00 d2 03 03"}
//	payload: {file: greetings/clienthello.bin}
//
// text is literal text in which nobufs reads the escapes \r \n \t \\ \0
// and \xHH (one byte, HH two hex digits); any other backslash sequence is an
// error. Write it in single quotes or plain style, so that nobufs, not YAML,
// reads the escapes: in double quotes YAML replaces \r \n \t \0 itself (the
// same bytes), but turns \xHH above \x7f into the two UTF-8 bytes of U+00HH,
// not one byte — use single quotes or hex for such bytes.
//
// hex is pairs of hex digits; spaces, tabs and newlines between them are
// ignored.
//
// file names a regular file of at most [MaxPayloadBytes]; FIFOs, devices,
// sockets and directories are refused with [ErrNotRegular] (a FIFO would
// block the run). A relative path is opened relative to the working
// directory: a scenario loader joins it with the scenario file's directory
// first.
//
// An empty payload is an error ([ErrEmpty]): a connection that sends
// nothing simply has no payload.
//
// # Expect
//
// [Expect.Read] reads a reply and stops at the first of: a newline (the
// first line is complete; not in Binary mode), MaxBytes bytes, end of
// stream or an error, the Timeout. Rules do not change when reading stops:
// they are tried, in order, against all the bytes read, and the first that
// matches gives the reply's class. A pattern sees the reply as Latin-1 —
// each byte is one character — so \xHH in a pattern matches the byte HH and
// binary replies can be matched (a TLS ServerHello: `(?s)^\x16\x03[\x01-\x04]..\x02`).
// For fixed-size binary replies set Binary and MaxBytes to the size
// (SOCKS5's method choice is 2 bytes), or Read waits for the Timeout.
//
// End of stream, a reset and the timeout are error values in [Reply.Err]:
// errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET),
// errors.Is(err, os.ErrDeadlineExceeded).
//
// # Greetings
//
// [HTTPGet], [RESPPing], [SOCKS5Hello] and [TLSClientHello] are first words
// that real servers answer (nginx, redis, tor's SocksPort, tor's ORPort);
// lab/sut's tests send each to the real server.
package wire
