//go:build tools

// Package tools pins the Versity S3 Gateway the state tests serve S3 from:
// scripts/object-stores.sh builds github.com/versity/versitygw/cmd/versitygw at the
// version go.mod requires into .keel/bin (npm run stores:build). The blank import
// keeps `go mod tidy` from dropping the requirement; the build tag keeps this file
// out of every build.
package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
