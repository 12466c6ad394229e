package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runProbe asks a URL once and succeeds on a 2xx answer: the container
// image's HEALTHCHECK (`telecart probe http://127.0.0.1:8000/readyz`), as the
// slim image has no curl, and this is all of curl a health check needs.
func runProbe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	insecure := fs.Bool("insecure", false, "accept any certificate of an https URL (a self-signed one on loopback)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: telecart probe [flags] URL\n\nGETs the http or https URL once: exit 0 on a 2xx answer, 1 otherwise.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(e.stderr, "not an http or https URL: %q\n", fs.Arg(0))
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A health check asks the server it runs beside, never through a proxy.
	tr.Proxy = nil
	if *insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The body says why a server is not ready; a line of it is enough.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s %s", u.Redacted(), resp.Status, body)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", u.Redacted(), resp.Status)
	return nil
}
