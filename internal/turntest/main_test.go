package turntest

import (
	"os"
	"testing"

	"github.com/telecart/telecart/internal/browsertest"
)

// The tests run in a network namespace of their own, with only loopback:
// their coturn's fixed ports are theirs alone.
func TestMain(m *testing.M) { os.Exit(browsertest.RunInNetNS(m)) }
