// Package web is the browser app: plain ES modules, no build step,
// embedded into the telecart binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html check.html style.css js
var files embed.FS // read-only by construction

// FS is the app's files, index.html at the root.
func FS() fs.FS { return files }
