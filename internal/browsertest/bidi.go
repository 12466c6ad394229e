package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// bidiReadLimit bounds one message from the browser. A screenshot of the
// viewport comes as one base64 PNG; 64 MiB holds any the tests take.
const bidiReadLimit = 64 << 20

// errBiDiClosed is what a command gets once the connection is gone.
var errBiDiClosed = errors.New("webdriver bidi connection closed")

// bidiConn is a WebDriver BiDi session over one WebSocket: commands with
// their answers matched by id, and events handed to a function. It is
// safe for concurrent use.
type bidiConn struct {
	ws      *websocket.Conn
	onEvent func(method string, params json.RawMessage) // called from the reader; must not block

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan bidiMessage
	err     error // set once the reader stops: why

	done chan struct{} // closed when the reader has stopped
}

// bidiMessage is any message from the browser: the answer to a command
// (type success or error, with its id) or an event.
type bidiMessage struct {
	Type    string          `json:"type"`
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// bidiError is an error the browser answered a command with.
type bidiError struct {
	Method, Code, Message string
}

func (e *bidiError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Method, e.Code, e.Message)
}

// dialBiDi connects to the BiDi endpoint at url (ws://host:port/session)
// and starts reading. onEvent gets every event, in order.
func dialBiDi(ctx context.Context, url string, onEvent func(method string, params json.RawMessage)) (*bidiConn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dialling %s: %w", url, err)
	}
	ws.SetReadLimit(bidiReadLimit)
	c := &bidiConn{ws: ws, onEvent: onEvent, pending: make(map[int64]chan bidiMessage), done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read hands each message to its command or to onEvent until the
// connection fails or is closed, then fails the commands still waiting.
func (c *bidiConn) read() {
	defer close(c.done)
	var err error
	for {
		var data []byte
		_, data, err = c.ws.Read(context.Background())
		if err != nil {
			break
		}
		var m bidiMessage
		if jerr := json.Unmarshal(data, &m); jerr != nil {
			err = fmt.Errorf("a message that is not JSON: %w", jerr)
			break
		}
		if m.Type == "event" {
			c.onEvent(m.Method, m.Params)
			continue
		}
		if m.ID == nil {
			// An error without an id answers no command: a message of
			// ours the browser could not parse. Nothing waits for it.
			continue
		}
		c.mu.Lock()
		ch := c.pending[*m.ID]
		delete(c.pending, *m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m // buffered: the caller may have given up
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %w", errBiDiClosed, err)
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	_ = c.ws.CloseNow()
}

// call sends the command method with params and decodes its result into
// result (a pointer, or nil to drop it). ctx bounds the wait.
func (c *bidiConn) call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan bidiMessage, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}

	msg, err := json.Marshal(struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params"`
	}{id, method, params})
	if err != nil {
		forget()
		return fmt.Errorf("%s: encoding the parameters: %w", method, err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		forget()
		return fmt.Errorf("%s: sending: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: %w", method, c.closed())
		}
		if m.Type == "error" {
			return &bidiError{Method: method, Code: m.Error, Message: m.Message}
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("%s: decoding the result %s: %w", method, short(string(m.Result)), err)
		}
		return nil
	case <-ctx.Done():
		forget()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// closed is why the connection stopped, or nil while it works.
func (c *bidiConn) closed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// close closes the connection and waits for the reader to stop.
func (c *bidiConn) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}
